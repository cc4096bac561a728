import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock.js';
import type { Principal } from '../../src/domain/principal.js';
import { SqliteStore } from '../../src/store/store-sqlite.js';
import type { Configuration, Contract, Transaction } from '../../src/types/wire.js';
import { k8slice } from '../helpers/hub.js';
import { openMarket } from '../helpers/market.js';

const provider: Principal = {
  role: 'provider',
  identity: { Domain: 'p', NodeID: 'prov', IP: '1' },
};
const buyers: Principal[] = [0, 1, 2, 3].map((i) => ({
  role: 'consumer',
  identity: { Domain: `b${i}`, NodeID: `buyer-${i}`, IP: '2' },
}));
const flush = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

type Op =
  | { op: 'reserve'; buyer: number; flavor: number; size: number; wait: number | undefined }
  | { op: 'purchase'; tx: number }
  | { op: 'cancel'; tx: number }
  | { op: 'withdraw'; flavor: number }
  | { op: 'advance'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('reserve' as const),
      buyer: fc.nat(3),
      flavor: fc.nat(3),
      size: fc.integer({ min: 1, max: 3 }),
      wait: fc.option(fc.constantFrom(0, 500, 5000), { nil: undefined }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('purchase' as const), tx: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('cancel' as const), tx: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('withdraw' as const), flavor: fc.nat(3) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('advance' as const),
      ms: fc.integer({ min: 0, max: 4000 }),
    }),
  },
);

const CPU = 4;
/** Across runs, so the property is known to have exercised sales, partitions and waits. */
const seen = { contracts: 0, partitionContracts: 0, waited: 0 };
const VM_MAX = 4;

async function run(ops: Op[]): Promise<void> {
  const clock = new FakeClock();
  const store = new SqliteStore(':memory:');
  const market = await openMarket(clock, {
    store,
    ttpSeconds: 3,
    flavorTtlSeconds: 3600,
    history: { maxEvents: 10_000, maxAgeMs: 3_600_000 },
  });
  const flavors = [
    (await market.offers.publish(provider, k8slice())).flavorId,
    (await market.offers.publish(provider, k8slice())).flavorId,
    (
      await market.offers.publish(
        provider,
        k8slice({ cpu: String(CPU), memory: '4Gi', pods: '40' }, {}),
      )
    ).flavorId,
    (
      await market.offers.publish(provider, {
        type: {
          name: 'vm',
          data: {
            Characteristics: { CPU: 2 },
            Policy: { Aggregatable: { MinCount: 1, MaxCount: VM_MAX } },
          },
        },
        price: { amount: '1', currency: 'EUR', period: 'hour' },
      })
    ).flavorId,
  ];
  const granted: Array<{ tx: Transaction; buyer: number }> = [];
  const pending: Array<Promise<unknown>> = [];
  let settled = 0;

  const config = (flavor: number, size: number): Configuration | undefined => {
    if (flavor === 2)
      return {
        type: 'k8slice',
        data: { cpu: String(size), memory: `${size}Gi`, pods: String(10 * size) },
      };
    if (flavor === 3) return { type: 'vm', data: { Count: size } };
    return undefined;
  };

  for (const o of ops) {
    switch (o.op) {
      case 'reserve': {
        const cfg = config(o.flavor, o.size);
        const p = market.reservations
          .reserve(
            buyers[o.buyer] as Principal,
            { FlavorID: flavors[o.flavor] as string, ...(cfg ? { Configuration: cfg } : {}) },
            o.wait === undefined ? {} : { waitMs: o.wait },
          )
          .then((tx) => granted.push({ tx, buyer: o.buyer }))
          .catch((err: { code?: string }) =>
            expect([
              'FLAVOR_NOT_FOUND',
              'FLAVOR_RESERVED',
              'UNAVAILABLE',
              'INVALID_CONFIGURATION',
            ]).toContain(err.code),
          )
          .finally(() => settled++);
        pending.push(p);
        await flush();
        if (market.reservations.stats().waiters > 0) seen.waited++;
        break;
      }
      case 'purchase':
      case 'cancel': {
        const g = granted[o.tx % Math.max(1, granted.length)];
        if (!g) break;
        const who = buyers[g.buyer] as Principal;
        const call =
          o.op === 'purchase'
            ? market.reservations.purchase(who, g.tx.TransactionID)
            : market.reservations.cancel(who, g.tx.TransactionID);
        await call.catch((err: { code?: string }) =>
          expect(['TRANSACTION_EXPIRED']).toContain(err.code),
        );
        break;
      }
      case 'withdraw':
        await market.catalog
          .withdraw(provider, flavors[o.flavor] as string)
          .catch((err: { code?: string }) => expect(err.code).toBe('FLAVOR_NOT_FOUND'));
        break;
      case 'advance':
        clock.advance(o.ms);
        break;
    }
    await flush();
  }
  // Let every hold and wait run out, then every waiter must have had its answer.
  for (let i = 0; i < 10; i++) {
    clock.advance(5_000);
    await flush();
  }
  expect(settled).toBe(pending.length);

  const contracts = (await store.allContracts(10_000)).map((c) => JSON.parse(c.json) as Contract);
  const byTx = new Map<string, number>();
  for (const c of contracts) byTx.set(c.TransactionID, (byTx.get(c.TransactionID) ?? 0) + 1);
  for (const n of byTx.values()) expect(n).toBe(1);
  for (const whole of [0, 1])
    expect(
      contracts.filter((c) => c.Flavor.flavorId === flavors[whole]).length,
    ).toBeLessThanOrEqual(1);
  const cpuSold = contracts
    .filter((c) => c.Flavor.flavorId === flavors[2])
    .reduce(
      (s, c) => s + (c.Configuration ? Number((c.Configuration.data as { cpu: string }).cpu) : CPU),
      0,
    );
  expect(cpuSold).toBeLessThanOrEqual(CPU);
  const vmSold = contracts
    .filter((c) => c.Flavor.flavorId === flavors[3])
    .reduce(
      (s, c) => s + (c.Configuration ? (c.Configuration.data as { Count: number }).Count : VM_MAX),
      0,
    );
  expect(vmSold).toBeLessThanOrEqual(VM_MAX);
  seen.contracts += contracts.length;
  seen.partitionContracts += contracts.filter((c) => c.Configuration).length;
  expect(market.reservations.stats()).toEqual({ holds: 0, waiters: 0 });
  market.close();
  await store.close();
}

describe('reservation engine under random interleavings (fast-check)', () => {
  it('never oversells, never yields two contracts for a transaction, answers every waiter', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 60 }), run), {
      numRuns: 150,
    });
    expect(seen.contracts).toBeGreaterThan(50);
    expect(seen.partitionContracts).toBeGreaterThan(10);
    expect(seen.waited).toBeGreaterThan(10);
  });
});
