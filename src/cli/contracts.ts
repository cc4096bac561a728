/**
 * `rear-hub contracts [CONTRACT_ID]`: the caller's contracts, or one (§6), each with whether
 * its Signature verifies against the hub's published keys (§12). `--json` prints the hub's
 * answer as it is.
 */
import type { Command } from 'commander';
import { verifyContract, type ContractVerification } from '../client/verify.js';
import type { Contract } from '../types/wire.js';
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
          if (json) return printJson(c);
          const [check] = await verifyAll([c], await hub.keys());
          return void console.log(`${contractFields(c)}\nSignature:   ${signature(check)}`);
        }
        const list = await hub.contracts.list();
        if (json) return printJson(list);
        const checks = list.length ? await verifyAll(list, await hub.keys()) : [];
        console.log(
          list.length
            ? table(
                ['CONTRACT', 'FLAVOR', 'SELLER', 'BUYER', 'PRICE', 'SIGNATURE', 'OFFER'],
                list.map((c, i) => [
                  c.ContractID,
                  c.Flavor.flavorId,
                  c.Seller.NodeID,
                  c.Buyer.NodeID,
                  price(c.Flavor),
                  signature(checks[i]),
                  summary(c.Flavor),
                ]),
              )
            : 'No contracts.',
        );
      }),
    );
}

function verifyAll(
  contracts: Contract[],
  jwks: Parameters<typeof verifyContract>[1],
): Promise<ContractVerification[]> {
  return Promise.all(contracts.map((c) => verifyContract(c, jwks)));
}

function signature(check: ContractVerification | undefined): string {
  if (!check) return '?';
  return check.valid ? `verified (${check.kid})` : `NOT VERIFIED: ${check.reason}`;
}
