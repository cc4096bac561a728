/** LIST's kept answers (list-answers.ts): never an answer a fresh walk would not give. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock.js';
import { Catalog } from '../../src/domain/catalog.js';
import { jsonArrayBytes, makeEntry } from '../../src/domain/flavor-entry.js';
import { ListAnswers } from '../../src/domain/list-answers.js';
import type { Principal } from '../../src/domain/principal.js';
import { compileSelector, type Selector } from '../../src/domain/selector.js';
import type { Flavor } from '../../src/types/wire.js';
import { k8slice } from '../helpers/hub.js';
import { openMarket } from '../helpers/market.js';

const provider: Principal = {
  role: 'provider',
  identity: { Domain: 'p', NodeID: 'prov', IP: '1' },
};
const buyer: Principal = { role: 'consumer', identity: { Domain: 'b', NodeID: 'buyer', IP: '2' } };

describe('ListAnswers', () => {
  const answer = (size: number, validUntil = Infinity) => ({
    tag: '*',
    bytes: Buffer.alloc(size),
    validUntil,
  });

  it('keeps answers within its bytes, evicting the oldest first', () => {
    const cache = new ListAnswers<string>(800);
    cache.set('a', answer(100));
    cache.set('b', answer(100));
    for (const k of 'cdefgh') cache.set(k, answer(100));
    expect(cache.size).toBe(8);
    cache.set('i', answer(100));
    expect(cache.get('a', '*', 0)).toBeUndefined();
    expect(cache.get('b', '*', 0)?.length).toBe(100);
    expect(cache.get('i', '*', 0)?.length).toBe(100);
    expect(cache.size).toBe(8);
  });

  it('never keeps an answer over an eighth of its bytes, nor anything when off', () => {
    const cache = new ListAnswers<string>(800);
    cache.set('big', answer(101));
    expect(cache.get('big', '*', 0)).toBeUndefined();
    const off = new ListAnswers<string>(0);
    off.set('empty', answer(0));
    expect(off.get('empty', '*', 0)).toBeUndefined();
    expect(off.size).toBe(0);
  });

  it('misses on another tag, once its first flavor expires, and after clear', () => {
    const cache = new ListAnswers<string>(800);
    cache.set('a', answer(10, 1_000));
    expect(cache.get('a', 'k8slice', 0)).toBeUndefined();
    expect(cache.get('a', '*', 999)?.length).toBe(10);
    expect(cache.get('a', '*', 1_000)).toBeUndefined();
    expect(cache.size).toBe(0);
    cache.set('b', answer(10));
    cache.clear();
    expect(cache.get('b', '*', 0)).toBeUndefined();
  });
});

describe("the catalog's kept LIST answers", () => {
  it('answer what a fresh walk answers, over random changes, sales and time', async () => {
    const clock = new FakeClock();
    const market = await openMarket(clock, { flavorTtlSeconds: 600 });
    const { catalog } = market;
    const selectors: Array<[Selector | undefined, 'k8slice' | undefined]> = [
      [undefined, undefined],
      [compileSelector(undefined, {}), undefined],
      [compileSelector('k8slice', { cpu: { range: { min: '4' } } }), 'k8slice'],
      [compileSelector('k8slice', { architecture: { match: 'arm64' } }), 'k8slice'],
      [compileSelector(undefined, { price: { range: { max: '2.5' } } }), undefined],
    ];
    const ids: string[] = [];
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('publish' as const),
        cpu: fc.integer({ min: 1, max: 8 }),
        arm: fc.boolean(),
        price: fc.integer({ min: 1, max: 40 }),
        ttl: fc.integer({ min: 30, max: 600 }),
        renew: fc.boolean(),
        pool: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('refresh' as const), at: fc.nat(), price: fc.nat(40) }),
      fc.record({ kind: fc.constant('withdraw' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('sell' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 200_000 }) }),
    );
    const ops = fc.sample(fc.array(op, { minLength: 300, maxLength: 300 }), {
      numRuns: 1,
      seed: 3,
    })[0]!;
    let kept = 0;
    let sold = 0;
    let mostListed = 0;
    let emptied = 0;
    for (const o of ops) {
      const id = ids.length > 0 && 'at' in o ? ids[o.at % ids.length] : undefined;
      switch (o.kind) {
        case 'publish': {
          const body = k8slice(
            { cpu: String(o.cpu), architecture: o.arm ? 'arm64' : 'amd64' },
            o.pool ? {} : undefined,
          );
          body.price.amount = (o.price / 10).toFixed(2);
          ids.push(
            (
              await market.offers.publish(provider, {
                ...body,
                ttlSeconds: o.ttl,
                autoRenew: o.renew,
              })
            ).flavorId,
          );
          break;
        }
        case 'refresh':
          await market.offers
            .refresh(provider, id as string, {
              price: { amount: (o.price / 10 + 0.1).toFixed(2), currency: 'EUR', period: 'hour' },
            })
            .catch(() => {});
          break;
        case 'withdraw':
          await market.offers.withdraw(provider, id as string).catch(() => {});
          break;
        case 'sell':
          try {
            const t = catalog.get(id as string)?.flavor.type;
            const pool = t?.name === 'k8slice' && t.data.policies?.partitionability;
            const tx = await market.reservations.reserve(buyer, {
              FlavorID: id as string,
              ...(pool
                ? {
                    Configuration: {
                      type: 'k8slice',
                      data: { cpu: '1', memory: '1Gi', pods: '10' },
                    },
                  }
                : {}),
            });
            await market.reservations.purchase(buyer, tx.TransactionID);
            sold++;
          } catch {
            // Gone, held or sold out: the next operation goes on.
          }
          break;
        case 'wait':
          clock.advance(o.ms);
          break;
      }
      for (const [selector, type] of selectors) {
        const first = catalog.listBytes(selector, type);
        const again = catalog.listBytes(selector, type);
        expect(first.equals(jsonArrayBytes(catalog.list(selector, type)))).toBe(true);
        if (again === first) kept++;
        const n = catalog.list(selector, type).length;
        mostListed = Math.max(mostListed, n);
        if (n === 0 && mostListed > 0) emptied++;
      }
    }
    // The second read of each selector after each operation comes from the cache.
    expect(kept).toBe(ops.length * selectors.length);
    // The run was not trivial: sales were made, answers grew, and some emptied again.
    expect(sold).toBeGreaterThan(5);
    expect(mostListed).toBeGreaterThan(5);
    expect(emptied).toBeGreaterThan(0);
    market.close();
    await market.store.close();
  });

  it("hide a flavor once it expires, though nothing retracted it (a replica's copy)", () => {
    const clock = new FakeClock();
    const catalog = new Catalog(clock, undefined, undefined, {
      defaultTtlSeconds: 300,
      listCacheBytes: 1 << 20,
    });
    const flavor = (id: string, expiresInMs: number): Flavor => ({
      flavorId: id,
      providerId: 'prov',
      timestamp: new Date(clock.now()).toISOString(),
      expirationTime: new Date(clock.now() + expiresInMs).toISOString(),
      type: k8slice().type as Flavor['type'],
      price: { amount: '1.00', currency: 'EUR', period: 'hour' },
      owner: { domain: 'p', nodeId: 'prov', ip: '1' },
      availability: true,
    });
    catalog.put(makeEntry(flavor('fl-soon', 10_000), false, 10));
    catalog.put(makeEntry(flavor('fl-later', 60_000), false, 60));
    const ids = () =>
      (JSON.parse(catalog.listBytes(undefined).toString()) as Flavor[]).map((f) => f.flavorId);
    expect(ids()).toEqual(['fl-soon', 'fl-later']);
    const kept = catalog.listBytes(undefined);
    clock.advance(9_999);
    expect(catalog.listBytes(undefined)).toBe(kept);
    clock.advance(1);
    expect(ids()).toEqual(['fl-later']);
    clock.advance(50_000);
    expect(ids()).toEqual([]);
  });
});
