/**
 * `rear-hub watch`: a live subscription (§8) on the SDK — a line per event (one JSON line with
 * `--json`), resumed without a gap after a drop, until Ctrl-C or the flavor's withdrawal.
 */
import type { Command } from 'commander';
import type { SubscriptionItem, SubscriptionSelector } from '../client/index.js';
import { price, summary } from '../web/format.js';
import { action, globals, hubFor, jsonOption } from './context.js';
import { EXIT } from './output.js';

function line(item: SubscriptionItem): string {
  const at = new Date().toISOString().slice(11, 19);
  switch (item.type) {
    case 'SUBSCRIBED':
      return `${at}  SUBSCRIBED       ${
        item.recovered
          ? 'resumed: missed events follow'
          : `${item.flavors.length} offer(s)${item.wasRecovering ? ' (history did not reach back: fresh snapshot)' : ''}${item.overflowed ? ' (fell behind: fresh snapshot)' : ''}`
      }`;
    case 'FLAVOR_ADDED':
      return `${at}  FLAVOR_ADDED     ${item.flavorId}  ${summary(item.Flavor)}  ${price(item.Flavor)}`;
    case 'REFRESH_FLAVOR':
      return `${at}  REFRESH_FLAVOR   ${item.flavorId}  ${item.ModificationDetails.map((d) => `${d.FieldModified}: ${JSON.stringify(d.OldValue)} → ${JSON.stringify(d.NewValue)}`).join(', ')}`;
    case 'WITHDRAW_FLAVOR':
      return `${at}  WITHDRAW_FLAVOR  ${item.flavorId}  ${item.Reason.Code}: ${item.Reason.Message}`;
  }
}

export function register(program: Command): void {
  program
    .command('watch')
    .description('print every event of a flavor or a selector as it happens (§8)')
    .option('--flavor <flavorId>', 'one flavor')
    .option(
      '--selector <json>',
      'a selector, e.g. \'{"type":"k8slice","filter":{"cpu":{"range":{"min":"4"}}}}\'',
    )
    .action(
      action(async ([opts], cmd) => {
        const o = opts as { flavor?: string; selector?: string };
        const json = globals(cmd).json === true;
        const hub = hubFor(cmd);
        const sub = hub.subscribe(
          o.flavor
            ? { flavorId: o.flavor }
            : { selector: jsonOption<SubscriptionSelector>('--selector', o.selector ?? '{}') },
        );
        hub.connection.on('state', (s) => {
          if (s.state === 'disconnected' && s.code !== undefined)
            console.error(`rear-hub: connection closed (${s.code}); reconnecting`);
        });
        hub.connection.on('confirmation', (c) => {
          if (json) console.log(JSON.stringify(c));
          else
            console.log(`CONFIRM_RESERVATION  ${c.ContractID}  ${c.TransactionID}  ${c.FlavorID}`);
        });
        process.once('SIGINT', () => sub.unsubscribe());
        try {
          for await (const item of sub) console.log(json ? JSON.stringify(item) : line(item));
        } finally {
          hub.close();
        }
        return EXIT.OK;
      }),
    );
}
