import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/domain/events.js';
import type { FlavorFacts } from '../../src/domain/flavor-facts.js';
import { parseJsonSelector } from '../../src/domain/selector.js';
import {
  findSubscription,
  SubscriptionIndex,
  subscriptionCount,
  subscriptionsOf,
  type Subscriber,
  type Target,
} from '../../src/ws/subscriptions.js';

const FLAVORS = ['fl-a', 'fl-b', 'fl-c', 'fl-d'];
// Selectors on type only, so an event's facts decide them without a catalog.
const SELECTORS = (['k8slice', 'vm'] as const).map((type) => parseJsonSelector({ type }));

function refresh(flavorId: string, type: 'k8slice' | 'vm'): DomainEvent {
  const facts: FlavorFacts = {
    type,
    providerId: 'p',
    price: 0n,
    priceF: 0,
    nums: {},
    strings: {},
    tags: [],
  };
  return { kind: 'refreshed', seq: 1, at: 0, flavorId, wire: '{}', facts, prevFacts: facts };
}

type Op =
  | { op: 'sub'; conn: number; target: number }
  | { op: 'unsub'; conn: number; nth: number }
  | { op: 'close'; conn: number }
  | { op: 'withdraw'; flavor: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('sub' as const), conn: fc.nat(5), target: fc.nat(5) }),
  fc.record({ op: fc.constant('unsub' as const), conn: fc.nat(5), nth: fc.nat(3) }),
  fc.record({ op: fc.constant('close' as const), conn: fc.nat(5) }),
  fc.record({ op: fc.constant('withdraw' as const), flavor: fc.nat(3) }),
);

describe('SubscriptionIndex', () => {
  it('reaches exactly the connections a plain model says, through any sequence of changes', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const index = new SubscriptionIndex<Subscriber>();
        const conns: Subscriber[] = Array.from({ length: 6 }, (_, i) => ({
          buyerId: `b${i % 2}`,
          subs: [],
        }));
        for (const c of conns) index.addConnection(c);
        // The model: each connection's targets by subscription id.
        const model = conns.map(() => new Map<number, Target>());
        let nextId = 0;
        for (const o of ops) {
          if (o.op === 'sub') {
            const c = conns[o.conn] as Subscriber;
            const target = (o.target < 4 ? FLAVORS[o.target] : SELECTORS[o.target - 4]) as Target;
            if (findSubscription(c, target) !== undefined) continue;
            index.add(c, ++nextId, target);
            model[o.conn]?.set(nextId, target);
          } else if (o.op === 'unsub') {
            const ids = [...(model[o.conn] as Map<number, Target>).keys()];
            const id = ids[o.nth] ?? 999;
            expect(index.remove(conns[o.conn] as Subscriber, id)).toBe(ids.includes(id));
            model[o.conn]?.delete(id);
          } else if (o.op === 'close') {
            index.removeConnection(conns[o.conn] as Subscriber);
            index.addConnection(conns[o.conn] as Subscriber);
            model[o.conn]?.clear();
          } else {
            const flavor = FLAVORS[o.flavor] as string;
            index.endFlavor(flavor);
            for (const m of model) for (const [id, t] of m) if (t === flavor) m.delete(id);
          }
          model.forEach((m, i) => {
            const c = conns[i] as Subscriber;
            expect(new Map(subscriptionsOf(c))).toEqual(m);
            expect(subscriptionCount(c)).toBe(m.size);
          });
          for (const flavor of FLAVORS) {
            for (const type of ['k8slice', 'vm'] as const) {
              const expected = conns.filter((_, i) =>
                [...(model[i] as Map<number, Target>).values()].some((t) =>
                  typeof t === 'string'
                    ? t === flavor
                    : t.key === SELECTORS[type === 'vm' ? 1 : 0]?.key,
                ),
              );
              const got = index.recipients(refresh(flavor, type));
              expect(new Set(got)).toEqual(new Set(expected));
              expect(got).toHaveLength(expected.length); // each once
            }
          }
        }
        for (const c of conns) index.removeConnection(c);
        expect(index.stats()).toEqual({ flavorKeys: 0, selectors: 0, buyers: 0 });
      }),
      { numRuns: 300 },
    );
  });
});
