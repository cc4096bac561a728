/**
 * factsOf shares the numeric facts and prices of equal texts (src/domain/flavor-facts.ts):
 * what it gives must be what parsing each flavor afresh gives, whatever the memo holds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { factsOf, k8sliceGrids } from '../../src/domain/flavor-facts.js';
import { numFact } from '../../src/domain/grid.js';
import { parseDecimal } from '../../src/domain/quantity.js';
import type { Flavor, K8Slice } from '../../src/types/wire.js';
import { k8sliceData } from '../helpers/flavor-arbitraries.js';

function slice(data: K8Slice, amount: string): Flavor {
  return {
    flavorId: 'fl-1',
    providerId: 'prov-a',
    timestamp: '2026-01-01T00:00:00.000Z',
    expirationTime: '2026-01-01T01:00:00.000Z',
    type: { name: 'k8slice', data },
    price: { amount, currency: 'EUR', period: 'hour' },
    owner: { domain: 'a', nodeId: 'prov-a', ip: '1.1.1.1' },
    availability: true,
  };
}

/** The facts' numbers as computed without any memo. */
function fresh(f: Flavor & { type: { name: 'k8slice'; data: K8Slice } }) {
  const nums: Record<string, unknown> = {};
  for (const [k, g] of Object.entries(k8sliceGrids(f.type.data))) if (g) nums[k] = numFact(g);
  return { nums, price: parseDecimal(f.price.amount) ?? 0n };
}

const data = k8sliceData(['amd64', 'arm64']);

describe('factsOf', () => {
  it('gives the facts a fresh parse gives, on first sight and on every later one', () => {
    fc.assert(
      fc.property(data, fc.constantFrom('0.10', '2.50', '1', '0.21'), (d, amount) => {
        const f = slice(d, amount) as Flavor & { type: { name: 'k8slice'; data: K8Slice } };
        const want = fresh(f);
        for (let i = 0; i < 2; i++) {
          const facts = factsOf(structuredClone(f));
          expect(facts.nums).toEqual(want.nums);
          expect(facts.price).toBe(want.price);
          expect(facts.priceF).toBe(Number(want.price));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('stays right once more values were seen than its memo keeps', () => {
    const first = slice({ characteristics: { cpu: '7', memory: '1Gi', pods: '3' } }, '1.00');
    const before = factsOf(first);
    for (let i = 0; i < 10_000; i++)
      factsOf(
        slice({ characteristics: { cpu: `${i + 100}`, memory: '1Gi', pods: '3' } }, `${i}.5`),
      );
    const after = factsOf(first);
    expect(after.nums).toEqual(before.nums);
    expect(after.price).toBe(before.price);
  });
});
