import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock.js';
import type { Principal } from '../../src/domain/principal.js';
import { compileSelector } from '../../src/domain/selector.js';
import { SqliteStore } from '../../src/store/store-sqlite.js';
import { k8slice } from '../helpers/hub.js';
import { openMarket } from '../helpers/market.js';

const provider: Principal = {
  role: 'provider',
  identity: { Domain: 'p', NodeID: 'prov', IP: '1' },
};

describe('indexed LIST answers exactly what a full scan answers', () => {
  it('over random catalogs, changes and selectors', async () => {
    const clock = new FakeClock();
    const store = new SqliteStore(':memory:');
    const market = await openMarket(clock, {
      store,
      flavorTtlSeconds: 3600,
      history: { maxEvents: 100, maxAgeMs: 60_000 },
    });
    const ids: string[] = [];
    const spec = fc.record({
      cpu: fc.integer({ min: 2, max: 16 }),
      mem: fc.integer({ min: 1, max: 32 }),
      part: fc.boolean(),
      price: fc.integer({ min: 1, max: 99 }),
      arm: fc.boolean(),
    });
    const flavors = fc.sample(spec, { numRuns: 1500, seed: 1 });
    for (const [i, f] of flavors.entries()) {
      const body = k8slice(
        { cpu: String(f.cpu), memory: `${f.mem}Gi`, architecture: f.arm ? 'arm64' : 'amd64' },
        f.part ? { cpuMin: '2', cpuStep: '3' } : undefined,
      );
      body.price.amount = (f.price / 10).toFixed(2);
      ids.push((await market.offers.publish(provider, body)).flavorId);
      // Refreshes and withdrawals along the way exercise the indexes' deltas and merges.
      if (i % 7 === 0)
        await market.catalog
          .refresh(provider, ids[i >> 1] as string, {
            price: { amount: '5.55', currency: 'EUR', period: 'hour' },
          })
          .catch(() => {});
      if (i % 11 === 0)
        await market.offers.withdraw(provider, ids[i >> 2] as string).catch(() => {});
    }
    const sel = fc.record({
      cpuMin: fc.option(fc.integer({ min: 0, max: 18 }), { nil: undefined }),
      cpuMatch: fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined }),
      memMin: fc.option(fc.integer({ min: 0, max: 34 }), { nil: undefined }),
      memMax: fc.option(fc.integer({ min: 0, max: 34 }), { nil: undefined }),
      priceMin: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
      typed: fc.boolean(),
      arch: fc.option(fc.constantFrom('amd64', 'arm64'), { nil: undefined }),
    });
    fc.assert(
      fc.property(sel, (s) => {
        const filter: Record<string, object> = {};
        if (s.typed && s.cpuMatch !== undefined) filter.cpu = { match: String(s.cpuMatch) };
        else if (s.typed && s.cpuMin !== undefined)
          filter.cpu = { range: { min: String(s.cpuMin) } };
        if (s.typed && s.memMin !== undefined && s.memMax === undefined) {
          // A minimum alone: the index decides it without testing each flavor.
          filter.memory = { range: { min: `${s.memMin}Gi` } };
        } else if (s.typed && (s.memMin !== undefined || s.memMax !== undefined)) {
          const lo = s.memMin ?? 0;
          const hi = Math.max(lo, s.memMax ?? 64);
          filter.memory = { range: { min: `${lo}Gi`, max: `${hi}Gi` } };
        }
        if (s.typed && s.arch) filter.architecture = { match: s.arch };
        if (s.priceMin !== undefined)
          filter.price = { range: { min: (s.priceMin / 10).toFixed(1) } };
        const type = s.typed ? ('k8slice' as const) : undefined;
        const selector = compileSelector(type, filter);
        const indexed = market.catalog
          .list(selector, type)
          .map((e) => e.flavor.flavorId)
          .sort();
        const scanned = market.catalog
          .list(undefined, type)
          .filter((e) => selector.test(e.facts))
          .map((e) => e.flavor.flavorId)
          .sort();
        expect(indexed).toEqual(scanned);
        // A second listing reuses the selector's plan and must answer the same.
        expect(
          market.catalog
            .list(selector, type)
            .map((e) => e.flavor.flavorId)
            .sort(),
        ).toEqual(scanned);
      }),
      { numRuns: 400 },
    );
    market.close();
    await store.close();
  });
});
