/** `rear-hub cancel TRANSACTION_ID`: ends a live hold (§5); the lock passes to the next in line. */
import type { Command } from 'commander';
import { action, globals, hubFor } from './context.js';
import { printJson } from './output.js';

export function register(program: Command): void {
  program
    .command('cancel')
    .description('cancel a live hold (§5)')
    .argument('<transactionId>')
    .action(
      action(async ([id], cmd) => {
        const hub = hubFor(cmd);
        await hub.cancel(id as string);
        const tx = await hub.transaction(id as string);
        if (globals(cmd).json) printJson(tx);
        else console.log(`${tx.TransactionID} ${tx.Status ?? 'cancelled'}`);
      }),
    );
}
