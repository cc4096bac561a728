/** `rear-hub withdraw FLAVOR_ID`: WITHDRAW_FLAVOR (§7), with a reason subscribers will read. */
import type { Command } from 'commander';
import { action, globals, hubFor } from './context.js';
import { printJson } from './output.js';

export function register(program: Command): void {
  program
    .command('withdraw')
    .description("take one's own offer off the market at once (§7)")
    .argument('<flavorId>')
    .option('--reason <text>', 'why (subscribers see it)')
    .action(
      action(async ([id, opts], cmd) => {
        const o = opts as { reason?: string };
        const f = await hubFor(cmd).flavors.withdraw(id as string, o.reason);
        if (globals(cmd).json) printJson(f);
        else console.log(`${f.flavorId} withdrawn${o.reason ? `: ${o.reason}` : ''}`);
      }),
    );
}
