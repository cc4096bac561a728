/** A new hold's Transaction and row, written from their parts: the bytes JSON.stringify writes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  configJsonOf,
  holdKey,
  newTransaction,
  newTransactionRowJson,
  reservedJson,
  storedTx,
} from '../../src/domain/holds.js';
import type { Configuration, NodeIdentity } from '../../src/types/wire.js';

const text = fc.string({ unit: 'binary', maxLength: 12 });

const buyer: fc.Arbitrary<NodeIdentity> = fc.record(
  { Domain: text, NodeID: text, IP: text, AdditionalInformation: fc.dictionary(text, text) },
  { requiredKeys: ['Domain', 'NodeID', 'IP'] },
);

const configuration: fc.Arbitrary<Configuration | undefined> = fc.option(
  fc.record({
    type: fc.constant('k8slice' as const),
    data: fc.record(
      { cpu: text, memory: text, pods: text, gpu: text, storage: text },
      { requiredKeys: ['cpu', 'memory', 'pods'] },
    ),
  }),
  { nil: undefined },
);

describe("a new hold's Transaction", () => {
  it('is written as JSON.stringify writes it, and its row as the same without Status', () => {
    fc.assert(
      fc.property(
        buyer,
        text,
        configuration,
        fc.integer({ min: 0, max: 2 ** 41 }),
        (who, flavorId, config, expiresAt) => {
          const tx = newTransaction('tx-0123456789abcdefghijk', who, flavorId, expiresAt, config);
          const key = holdKey(who.NodeID, flavorId, config);
          const row = newTransactionRowJson(tx, configJsonOf(key, who.NodeID, flavorId));
          const answer = reservedJson(row);
          expect(answer).toBe(JSON.stringify(tx));
          const { Status: _status, ...rest } = tx;
          expect(storedTx(tx, who.NodeID, expiresAt, undefined, row).json).toBe(
            JSON.stringify(rest),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });
});
