/** `rear-hub refresh FLAVOR_ID`: REFRESH_FLAVOR (§7): a new expiry, and optionally a price or availability. */
import type { Command } from 'commander';
import type { FlavorRefresh } from '../client/index.js';
import { action, globals, hubFor } from './context.js';
import { flavorFields } from './flavors.js';
import { printJson, UsageError } from './output.js';

export function register(program: Command): void {
  program
    .command('refresh')
    .description("renew one's own offer; optionally change its price or availability (§7)")
    .argument('<flavorId>')
    .option('--ttl <seconds>', "new validity, seconds (default: the offer's own)")
    .option('--price <amount>', "new price amount, in the offer's currency and period")
    .option('--available', 'put it back on sale')
    .option('--unavailable', 'take it off sale for now')
    .action(
      action(async ([id, opts], cmd) => {
        const o = opts as {
          ttl?: string;
          price?: string;
          available?: boolean;
          unavailable?: boolean;
        };
        if (o.ttl !== undefined && !/^\d+$/.test(o.ttl))
          throw new UsageError(`--ttl takes whole seconds, got "${o.ttl}"`);
        const hub = hubFor(cmd);
        const body: FlavorRefresh = {};
        if (o.ttl !== undefined) body.ttlSeconds = Number(o.ttl);
        if (o.available || o.unavailable) body.availability = o.available === true;
        if (o.price !== undefined) {
          const current = await hub.flavors.get(id as string);
          body.price = { ...current.price, amount: o.price };
        }
        const f = await hub.flavors.refresh(id as string, body);
        if (globals(cmd).json) printJson(f);
        else console.log(flavorFields(f));
      }),
    );
}
