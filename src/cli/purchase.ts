/** `rear-hub purchase TRANSACTION_ID`: PURCHASE_FLAVOR (§6); a retry replays the Contract. */
import type { Command } from 'commander';
import type { Contract } from '../client/index.js';
import { price, summary } from '../web/format.js';
import { action, globals, hubFor } from './context.js';
import { fields, printJson } from './output.js';

export function contractFields(c: Contract): string {
  return fields([
    ['Contract', c.ContractID],
    ['Transaction', c.TransactionID],
    ['Flavor', `${c.Flavor.flavorId} (${c.Flavor.type.name}: ${summary(c.Flavor)})`],
    ['Price', price(c.Flavor)],
    ['Seller', c.Seller.NodeID],
    ['Buyer', c.Buyer.NodeID],
    ['Runs until', c.ExpirationTime],
  ]);
}

export function register(program: Command): void {
  program
    .command('purchase')
    .description('buy what a transaction holds (§6)')
    .argument('<transactionId>')
    .action(
      action(async ([id], cmd) => {
        const c = await hubFor(cmd).purchase(id as string);
        if (globals(cmd).json) printJson(c);
        else console.log(contractFields(c));
      }),
    );
}
