/**
 * `rear-hub reserve FLAVOR_ID`: RESERVE_FLAVOR (§5), waiting in the flavor's line with a
 * spinner and the elapsed time (on a terminal); Ctrl-C leaves the line.
 */
import type { Command } from 'commander';
import type { Configuration, Transaction } from '../client/index.js';
import { action, globals, hubFor, jsonOption } from './context.js';
import { EXIT, fields, printJson, spinner, UsageError } from './output.js';

export function transactionFields(tx: Transaction): string {
  return fields([
    ['Transaction', tx.TransactionID],
    ['Flavor', tx.FlavorID],
    ['Buyer', tx.Buyer.NodeID],
    ['Status', tx.Status],
    ['Expires', tx.ExpirationTime],
    ['Configuration', tx.Configuration ? JSON.stringify(tx.Configuration) : undefined],
  ]);
}

export function register(program: Command): void {
  program
    .command('reserve')
    .description(
      'take a hold on a flavor for one Time To Purchase, waiting in line if it is held (§5)',
    )
    .argument('<flavorId>')
    .option('--wait <seconds>', 'longest wait in line (Prefer: wait); 0 answers at once')
    .option('--config <json>', 'a Configuration: a partition, a machine count, a service set-up')
    .action(
      action(async ([flavorId, opts], cmd) => {
        const o = opts as { wait?: string; config?: string };
        if (o.wait !== undefined && !/^\d+$/.test(o.wait))
          throw new UsageError(`--wait takes whole seconds, got "${o.wait}"`);
        const config = o.config ? jsonOption<Configuration>('--config', o.config) : undefined;
        const hub = hubFor(cmd);
        const ac = new AbortController();
        const onSigint = () => ac.abort();
        process.once('SIGINT', onSigint);
        const stop = spinner(`waiting in line for ${flavorId as string}…`);
        try {
          const tx = await hub.reserve(flavorId as string, {
            signal: ac.signal,
            ...(o.wait !== undefined ? { wait: Number(o.wait) } : {}),
            ...(config ? { Configuration: config } : {}),
          });
          stop();
          if (globals(cmd).json) printJson(tx);
          else console.log(transactionFields(tx));
        } catch (err) {
          stop();
          if (ac.signal.aborted) {
            console.error('rear-hub: interrupted: left the line');
            return EXIT.INTERRUPTED;
          }
          throw err;
        } finally {
          process.off('SIGINT', onSigint);
        }
      }),
    );
}
