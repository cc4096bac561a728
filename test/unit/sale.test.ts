import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { needFor, sale } from '../../src/domain/capacity.js';
import { factsOf } from '../../src/domain/flavor-facts.js';
import { makeEntry } from '../../src/domain/flavor-entry.js';
import { newContractId, newFlavorId, newTransactionId } from '../../src/domain/ids.js';
import type { Flavor } from '../../src/types/wire.js';

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

describe('a partition sale', () => {
  it('derives the remainder’s facts without parsing, equal to parsing the remainder', () => {
    fc.assert(
      fc.property(
        fc.record({
          cpu: fc.integer({ min: 2, max: 64 }),
          mem: fc.integer({ min: 2, max: 256 }),
          pods: fc.integer({ min: 2, max: 200 }),
          gpu: fc.integer({ min: 0, max: 8 }),
          storage: fc.integer({ min: 0, max: 100 }),
        }),
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

describe('ids', () => {
  it('sort by creation time, carry their prefix and 12 random characters', () => {
    const times = [0, 1, 63, 64, Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) + 1, 2 ** 41];
    for (const make of [newFlavorId, newTransactionId, newContractId]) {
      const ids = times.map((t) => make(t));
      expect([...ids].sort()).toEqual(ids);
      for (const id of ids) expect(id).toMatch(/^(fl|tx|ct)-[-0-9A-Z_a-z]{19}$/);
      const same = Array.from({ length: 1000 }, () => make(times[4] as number));
      expect(new Set(same).size).toBe(1000);
    }
  });
});
