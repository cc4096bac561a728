/** `rear-hub contracts [CONTRACT_ID]`: the caller's contracts, or one (§6). */
import type { Command } from 'commander';
import { price, summary } from '../web/format.js';
import { action, globals, hubFor } from './context.js';
import { printJson, table } from './output.js';
import { contractFields } from './purchase.js';

export function register(program: Command): void {
  program
    .command('contracts')
    .description("the caller's contracts, as buyer and as seller, or one of them (§6)")
    .argument('[contractId]')
    .action(
      action(async ([id], cmd) => {
        const hub = hubFor(cmd);
        const json = globals(cmd).json;
        if (typeof id === 'string') {
          const c = await hub.contracts.get(id);
          return void (json ? printJson(c) : console.log(contractFields(c)));
        }
        const list = await hub.contracts.list();
        if (json) return printJson(list);
        console.log(
          list.length
            ? table(
                ['CONTRACT', 'FLAVOR', 'SELLER', 'BUYER', 'PRICE', 'OFFER'],
                list.map((c) => [
                  c.ContractID,
                  c.Flavor.flavorId,
                  c.Seller.NodeID,
                  c.Buyer.NodeID,
                  price(c.Flavor),
                  summary(c.Flavor),
                ]),
              )
            : 'No contracts.',
        );
      }),
    );
}
