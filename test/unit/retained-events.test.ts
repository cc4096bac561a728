/**
 * The history keeps each flavor event in its small form (events.ts `retained`): the wire text
 * alone, its facts worked out again when a resuming selector asks. They must be the facts the
 * live event carried, the flavor's before a refresh included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock.js';
import type { DomainEvent } from '../../src/domain/events.js';
import { flavorBefore } from '../../src/domain/events.js';
import type { Principal } from '../../src/domain/principal.js';
import type { Configuration, Flavor, FlavorPublish } from '../../src/types/wire.js';
import { k8slice } from '../helpers/hub.js';
import { openMarket } from '../helpers/market.js';

const provider: Principal = {
  role: 'provider',
  identity: { Domain: 'p', NodeID: 'prov', IP: '1' },
};
const buyer: Principal = { role: 'consumer', identity: { Domain: 'b', NodeID: 'buyer', IP: '2' } };

const vm = (max: number): FlavorPublish => ({
  type: {
    name: 'vm',
    data: {
      Characteristics: { CPU: 2, Memory: 4096 },
      Policy: { Aggregatable: { MinCount: 1, MaxCount: max } },
    },
  },
  price: { amount: '0.10', currency: 'EUR', period: 'hour' },
});

describe('retained flavor events', () => {
  it("answer the live event's facts, before and after, over random sales, refreshes and renewals", async () => {
    const clock = new FakeClock();
    const market = await openMarket(clock, {
      flavorTtlSeconds: 120,
      history: { maxEvents: 100_000, maxAgeMs: 1e12 },
    });
    const live = new Map<number, DomainEvent>();
    market.bus.listen((e) => live.set(e.seq, e));
    const ids: string[] = [];
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('publish' as const),
        shape: fc.constantFrom('pool', 'pool+gpu', 'whole', 'vm'),
        cpu: fc.integer({ min: 4, max: 32 }),
      }),
      fc.record({
        kind: fc.constant('sell' as const),
        at: fc.nat(),
        n: fc.integer({ min: 1, max: 6 }),
      }),
      fc.record({
        kind: fc.constant('refresh' as const),
        at: fc.nat(),
        price: fc.integer({ min: 1, max: 99 }),
        off: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 100_000 }) }),
    );
    const ops = fc.sample(fc.array(op, { minLength: 250, maxLength: 250 }), {
      numRuns: 1,
      seed: 5,
    })[0]!;
    for (const o of ops) {
      const id = ids.length > 0 && 'at' in o ? (ids[o.at % ids.length] as string) : '';
      if (o.kind === 'publish') {
        const body =
          o.shape === 'vm'
            ? vm(o.cpu)
            : k8slice(
                { cpu: String(o.cpu), memory: `${o.cpu * 2}Gi`, pods: '110' },
                o.shape === 'whole' ? undefined : {},
              );
        if (o.shape === 'pool+gpu' && body.type.name === 'k8slice')
          body.type.data.characteristics.gpu = { model: 'a100', cores: '4', memory: '40Gi' };
        ids.push((await market.offers.publish(provider, body)).flavorId);
      } else if (o.kind === 'sell') {
        const t = market.catalog.get(id)?.flavor.type;
        const n = String(o.n);
        const configuration: Configuration | undefined =
          t?.name === 'vm'
            ? { type: 'vm', data: { Count: o.n } }
            : t?.name === 'k8slice' && t.data.policies?.partitionability
              ? { type: 'k8slice', data: { cpu: n, memory: `${n}Gi`, pods: '10' } }
              : undefined;
        try {
          const tx = await market.reservations.reserve(buyer, {
            FlavorID: id,
            ...(configuration ? { Configuration: configuration } : {}),
          });
          await market.reservations.purchase(buyer, tx.TransactionID);
        } catch {
          // Gone, held, or not that size: the next operation goes on.
        }
      } else if (o.kind === 'refresh') {
        await market.offers
          .refresh(provider, id, {
            price: { amount: (o.price / 10).toFixed(2), currency: 'EUR', period: 'hour' },
            ...(o.off ? { availability: false } : {}),
          })
          .catch(() => {});
      } else {
        clock.advance(o.ms);
      }
    }
    const kept = [...market.bus.replay(0)];
    const kinds = new Map<string, number>();
    for (const e of kept) {
      const was = live.get(e.seq) as DomainEvent;
      expect(e.kind).toBe(was.kind);
      expect(e.wire).toBe(was.wire);
      kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
      if (e.kind === 'confirmed' || was.kind === 'confirmed') continue;
      expect(e.facts).toEqual(was.facts);
      if (e.kind === 'refreshed' && was.kind === 'refreshed')
        expect(e.prevFacts).toEqual(was.prevFacts);
    }
    // Every kind was kept and checked, refreshes (sales, price changes, renewals) most of all.
    expect(kept.length).toBe(live.size);
    expect(kinds.get('refreshed')).toBeGreaterThan(50);
    expect(kinds.get('added')).toBeGreaterThan(10);
    expect(kinds.get('withdrawn')).toBeGreaterThan(3);
    expect(kinds.get('confirmed')).toBeGreaterThan(10);
    market.close();
    await market.store.close();
  });

  it('flavorBefore puts back changed, added and removed fields', () => {
    const before = {
      flavorId: 'fl-1',
      price: { amount: '1.00', currency: 'EUR', period: 'hour' },
      type: {
        name: 'k8slice',
        data: { characteristics: { cpu: '8', gpu: { model: 'a100', cores: '4' } }, policies: {} },
      },
      location: { country: 'IT' },
    };
    const after = {
      flavorId: 'fl-1',
      price: { amount: '2.00', currency: 'EUR', period: 'hour' },
      type: { name: 'k8slice', data: { characteristics: { cpu: '6' }, policies: {} } },
      networkPropertyType: 'fast',
    };
    const rebuilt = flavorBefore(structuredClone(after) as unknown as Flavor, [
      { FieldModified: 'price.amount', OldValue: '1.00', NewValue: '2.00' },
      { FieldModified: 'type.data.characteristics.cpu', OldValue: '8', NewValue: '6' },
      {
        FieldModified: 'type.data.characteristics.gpu',
        OldValue: { model: 'a100', cores: '4' },
        NewValue: null,
      },
      { FieldModified: 'location', OldValue: { country: 'IT' }, NewValue: null },
      { FieldModified: 'networkPropertyType', OldValue: null, NewValue: 'fast' },
    ]);
    expect(rebuilt).toEqual(before);
  });
});
