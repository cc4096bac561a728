import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { needFor, remainderEntry, sale, soldJson } from '../../src/domain/capacity.js';
import { payloadOf } from '../../src/domain/contract-signer.js';
import { diffFields } from '../../src/domain/events.js';
import { factsOf } from '../../src/domain/flavor-facts.js';
import { makeEntry, parsedEntry, type FlavorEntry } from '../../src/domain/flavor-entry.js';
import { makeContract, newTransaction } from '../../src/domain/holds.js';
import { jsonId, newContractId, newFlavorId, newTransactionId } from '../../src/domain/ids.js';
import type { Configuration, Flavor } from '../../src/types/wire.js';

function k8sPool(cpu: number, memGi: number, pods: number, gpu: number, storageGi: number): Flavor {
  return {
    flavorId: 'fl-x',
    providerId: 'p',
    timestamp: '2026-01-01T00:00:00.000Z',
    expirationTime: '2026-01-02T00:00:00.000Z',
    type: {
      name: 'k8slice',
      data: {
        characteristics: {
          architecture: 'arm64',
          cpu: String(cpu),
          memory: `${memGi}Gi`,
          pods: String(pods),
          ...(storageGi > 0 ? { storage: `${storageGi}Gi` } : {}),
          ...(gpu > 0 ? { gpu: { model: 'a100', cores: String(gpu), memory: '40Gi' } } : {}),
        },
        policies: {
          partitionability: {
            cpuMin: '1',
            memoryMin: '1Gi',
            podsMin: '1',
            cpuStep: '1',
            memoryStep: '1Gi',
            podsStep: '1',
          },
        },
      },
    },
    price: { amount: '1.00', currency: 'EUR', period: 'hour' },
    owner: { domain: 'd', nodeId: 'p', ip: '1' },
    availability: true,
  };
}

/** k8sPool's sizes. */
const poolSizes = fc.record({
  cpu: fc.integer({ min: 2, max: 64 }),
  mem: fc.integer({ min: 2, max: 256 }),
  pods: fc.integer({ min: 2, max: 200 }),
  gpu: fc.integer({ min: 0, max: 8 }),
  storage: fc.integer({ min: 0, max: 100 }),
});

describe('a partition sale', () => {
  it('derives the remainder’s facts without parsing, equal to parsing the remainder', () => {
    fc.assert(
      fc.property(
        poolSizes,
        fc.double({ min: 0, max: 1, noNaN: true }),
        ({ cpu, mem, pods, gpu, storage }, share) => {
          const entry = makeEntry(k8sPool(cpu, mem, pods, gpu, storage), true, 60);
          const take = (n: number) => String(Math.max(1, Math.floor(n * share)));
          const config = {
            type: 'k8slice' as const,
            data: {
              cpu: take(cpu),
              memory: `${take(mem)}Gi`,
              pods: take(pods),
              ...(gpu > 0 ? { gpu: take(gpu) } : {}),
              ...(storage > 0 ? { storage: `${take(storage)}Gi` } : {}),
            },
          };
          const { remainder } = sale(entry, needFor(entry, config), config);
          if (remainder) expect(remainder.facts).toEqual(factsOf(remainder.flavor));
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** A partition of `share` of each of a pool's resources (k8sPool's arguments). */
function partition(
  [cpu, mem, pods, gpu, storage]: readonly number[],
  share: number,
): Configuration {
  const take = (n = 0) => String(Math.max(1, Math.floor(n * share)));
  return {
    type: 'k8slice',
    data: {
      cpu: take(cpu),
      memory: `${take(mem)}Gi`,
      pods: take(pods),
      ...(gpu ? { gpu: take(gpu) } : {}),
      ...(storage ? { storage: `${take(storage)}Gi` } : {}),
    },
  };
}

describe("a sale's JSON, spliced from the flavor's", () => {
  /** Sells `share` of the entry's pool until it is gone, checking every flavor's bytes. */
  function sellDown(first: FlavorEntry, config: Configuration): number {
    let entry: FlavorEntry | undefined = first;
    let sales = 0;
    // Until the pool is gone, or what is left is less than the partition.
    while (entry && sales < 6) {
      let need;
      try {
        need = needFor(entry, config);
      } catch {
        break;
      }
      const { sold, remainder } = sale(entry, need, config);
      // The part sold: as JSON.stringify writes it, and so the contract that embeds it.
      expect(soldJson(entry, sold)).toBe(JSON.stringify(sold));
      const buyer = { Domain: 'b', NodeID: 'b-1', IP: '2' };
      const tx = newTransaction('tx-1', buyer, sold.flavorId, 0, config);
      const contract = makeContract(tx, sold, sold.owner, 0, 1000);
      expect(payloadOf(contract, soldJson(entry, sold))).toBe(JSON.stringify(contract));
      expect(payloadOf({ ...contract, Signature: 'x' }, soldJson(entry, sold))).toBe(
        JSON.stringify(contract),
      );
      if (!remainder) break;
      // The remainder: its JSON, and what changed, as the whole flavor's comparison finds.
      const { next, changes } = remainderEntry(entry, remainder);
      expect(next.json).toBe(JSON.stringify(remainder.flavor));
      expect(changes).toEqual(diffFields(entry.flavor, remainder.flavor));
      expect([next.expiresAt, next.autoRenew, next.ttlSeconds]).toEqual([
        entry.expiresAt,
        entry.autoRenew,
        entry.ttlSeconds,
      ]);
      entry = next;
      sales++;
    }
    return sales;
  }

  it('is byte-equal to serializing it whole, sale after sale, made or loaded', () => {
    fc.assert(
      fc.property(
        poolSizes,
        fc.double({ min: 0.05, max: 0.6, noNaN: true }),
        fc.boolean(),
        fc.boolean(),
        ({ cpu, mem, pods, gpu, storage }, share, loaded, reversed) => {
          const f = k8sPool(cpu, mem, pods, gpu, storage);
          // A provider may write the characteristics in any order: the sale's
          // ModificationDetails follow the flavor's.
          if (reversed && f.type.name === 'k8slice') {
            const c = f.type.data.characteristics;
            f.type.data.characteristics = Object.fromEntries(
              Object.entries(c).reverse(),
            ) as typeof c;
          }
          const entry = loaded
            ? parsedEntry(JSON.stringify(f), true, 60).entry
            : makeEntry(f, true, 60);
          sellDown(entry, partition([cpu, mem, pods, gpu, storage], share));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is serialized whole when the type cannot be told apart from a nested copy of it', () => {
    const f = k8sPool(8, 16, 16, 0, 0);
    // The owner carries an object with a `type` of the very same value.
    const twin = {
      ...f,
      owner: { ...f.owner, additionalInformation: { type: structuredClone(f.type) } },
    } as Flavor;
    const quarter = partition([8, 16, 16, 0, 0], 0.25);
    expect(sellDown(makeEntry(twin, true, 60), quarter)).toBeGreaterThan(1);
    // Stored by another serializer (spaces): found nowhere, serialized whole.
    const spaced = parsedEntry(JSON.stringify(f, null, 1), true, 60).entry;
    expect(sellDown(spaced, quarter)).toBeGreaterThan(1);
  });
});

describe('ids', () => {
  it('sort by creation time, carry their prefix and 12 random characters', () => {
    const times = [0, 1, 63, 64, Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) + 1, 2 ** 41];
    for (const make of [newFlavorId, newTransactionId, newContractId]) {
      const ids = times.map((t) => make(t));
      expect([...ids].sort()).toEqual(ids);
      for (const id of ids) expect(id).toMatch(/^(fl|tx|ct)-[-0-9A-Z_a-z]{19}$/);
      const same = Array.from({ length: 1000 }, () => make(times[4] as number));
      expect(new Set(same).size).toBe(1000);
      for (const id of [...ids, ...same]) expect(jsonId(id)).toBe(`"${id}"`);
    }
  });

  it('are written as JSON as JSON.stringify writes them, whatever they hold', () => {
    for (const odd of ['', 'a"b', 'a\\b', 'tab\there', '\u0001', 'é', '\u2028', '\ud800', '~'])
      expect(jsonId(odd)).toBe(JSON.stringify(odd));
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(jsonId(s)).toBe(JSON.stringify(s));
      }),
      { numRuns: 2000 },
    );
  });
});
