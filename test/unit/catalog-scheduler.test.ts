import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock.js';
import type { DomainEvent } from '../../src/domain/events.js';
import type { FlavorPublish, ServerMessage } from '../../src/types/wire.js';
import { needFor, sale } from '../../src/domain/capacity.js';
import type { FlavorEntry } from '../../src/domain/flavor-entry.js';
import { Market } from '../../src/domain/market.js';
import type { Principal } from '../../src/domain/principal.js';
import { SqliteStore } from '../../src/store/store-sqlite.js';
import { k8slice } from '../helpers/hub.js';
import { openMarket } from '../helpers/market.js';

const provider: Principal = {
  role: 'provider',
  identity: { Domain: 'a', NodeID: 'prov-a', IP: '1' },
};
const flush = () => new Promise((r) => setImmediate(r));

async function open(clock: FakeClock) {
  const market = await openMarket(clock);
  const events: DomainEvent[] = [];
  market.bus.listen((e) => events.push(e));
  return { market, events };
}

let opened: Market[] = [];
afterEach(async () => {
  for (const m of opened) {
    m.close();
    await m.store.close();
  }
  opened = [];
});

/**
 * Two flavors published with `body` on one market, then the store opened again by a second
 * market whose deadlines are not scheduled yet (it schedules them in the background).
 */
async function reopenedWithTwo(body: FlavorPublish) {
  const clock = new FakeClock();
  const store = new SqliteStore(':memory:');
  const first = await openMarket(clock, { store, onFatal: () => {} });
  const a = await first.offers.publish(provider, body);
  const b = await first.offers.publish(provider, body);
  first.close();
  const second = await openMarket(clock, { store, onFatal: () => {} });
  opened.push(second);
  const events: DomainEvent[] = [];
  second.bus.listen((e) => events.push(e));
  return { clock, a, b, second, events };
}

describe('catalog scheduler (fake clock)', () => {
  it('renews an autoRenew flavor shortly before it expires, with REFRESH_FLAVOR', async () => {
    const clock = new FakeClock();
    const { market, events } = await open(clock);
    opened.push(market);
    const t0 = clock.now();
    const f = await market.offers.publish(provider, {
      ...k8slice(),
      ttlSeconds: 10,
      autoRenew: true,
    });
    const firstExpiry = Date.parse(f.expirationTime);
    clock.advance(7_900); // the lead is a fifth of the TTL: renewal at 8 s
    await flush();
    expect(events.map((e) => e.kind)).toEqual(['added']);
    clock.advance(200);
    await flush();
    expect(events.map((e) => e.kind)).toEqual(['added', 'refreshed']);
    const refresh = JSON.parse((events[1] as DomainEvent).wire) as Extract<
      ServerMessage,
      { type: 'REFRESH_FLAVOR' }
    >;
    expect(refresh.ModificationDetails.map((c) => c.FieldModified).sort()).toEqual([
      'expirationTime',
      'timestamp',
    ]);
    expect(Date.parse(refresh.Flavor.expirationTime)).toBe(t0 + 8_000 + 10_000);
    expect(Date.parse(refresh.Flavor.expirationTime)).toBeGreaterThan(firstExpiry);
    // It keeps renewing; it never expires.
    clock.advance(60_000);
    await flush();
    expect(market.catalog.get(f.flavorId)).toBeDefined();
    expect(events.filter((e) => e.kind === 'refreshed').length).toBeGreaterThanOrEqual(7);
  });

  it('retracts a flavor without autoRenew at its expirationTime, with WITHDRAW_FLAVOR (expired)', async () => {
    const clock = new FakeClock();
    const { market, events } = await open(clock);
    opened.push(market);
    const f = await market.offers.publish(provider, {
      ...k8slice(),
      ttlSeconds: 5,
      autoRenew: false,
    });
    clock.advance(4_999);
    await flush();
    expect(market.catalog.get(f.flavorId)).toBeDefined();
    clock.advance(1);
    expect(market.catalog.get(f.flavorId)).toBeUndefined();
    await flush();
    const last = events.at(-1) as DomainEvent;
    expect(last.kind).toBe('withdrawn');
    const withdraw = JSON.parse(last.wire) as Extract<ServerMessage, { type: 'WITHDRAW_FLAVOR' }>;
    expect(withdraw.Reason.Code).toBe('expired');
    expect(market.catalog.size).toBe(0);
  });

  it('never lists an expired flavor, even before the scheduler retracts it', async () => {
    const clock = new FakeClock();
    const { market } = await open(clock);
    opened.push(market);
    const f = await market.offers.publish(provider, {
      ...k8slice(),
      ttlSeconds: 5,
      autoRenew: false,
    });
    // Time moves without the scheduler's timer firing (as when the event loop is busy).
    (clock as unknown as { current: number }).current += 6_000;
    expect(market.catalog.get(f.flavorId)).toBeUndefined();
    expect(market.catalog.list(undefined)).toEqual([]);
  });

  it('does work in proportion to the flavors due, not the catalog size', async () => {
    const clock = new FakeClock();
    const { market, events } = await open(clock);
    opened.push(market);
    for (let i = 0; i < 2000; i++)
      await market.offers.publish(provider, { ...k8slice(), ttlSeconds: 86_400 });
    for (let i = 0; i < 5; i++)
      await market.offers.publish(provider, { ...k8slice(), ttlSeconds: 10, autoRenew: false });
    const deadlines = (market as unknown as { deadlines: { stats(): { popped: number } } })
      .deadlines;
    const before = deadlines.stats().popped;
    clock.advance(10_000);
    await flush();
    expect(deadlines.stats().popped - before).toBe(5);
    expect(events.filter((e) => e.kind === 'withdrawn')).toHaveLength(5);
  });

  it('rebuilds deadlines from the store at start, retracting what expired while down', async () => {
    const clock = new FakeClock();
    const store = new SqliteStore(':memory:');
    const first = await openMarket(clock, { store, onFatal: () => {} });
    const f = await first.offers.publish(provider, {
      ...k8slice(),
      ttlSeconds: 5,
      autoRenew: false,
    });
    first.close();
    clock.advance(10_000);
    const second = await openMarket(clock, { store, onFatal: () => {} });
    opened.push(second);
    const events: DomainEvent[] = [];
    second.bus.listen((e) => events.push(e));
    // Deadlines are scheduled in the background (Catalog.scheduleLoaded); meanwhile reads
    // already hide what expired.
    expect(second.catalog.get(f.flavorId)).toBeUndefined();
    expect(second.catalog.list(undefined)).toEqual([]);
    await second.ready;
    clock.advance(0);
    await flush();
    expect(events.map((e) => [e.kind, e.flavorId])).toEqual([['withdrawn', f.flavorId]]);
    expect(second.catalog.size).toBe(0);
  });

  it('keeps the deadline of a flavor changed before its loaded one was scheduled', async () => {
    const { clock, a, b, second, events } = await reopenedWithTwo({
      ...k8slice(),
      ttlSeconds: 5,
      autoRenew: false,
    });
    // Before the background scheduling reaches b: its loaded 5 s deadline must not win.
    await second.offers.refresh(provider, b.flavorId, { ttlSeconds: 100 });
    await second.ready;
    clock.advance(10_000);
    await flush();
    expect(events.filter((e) => e.kind === 'withdrawn').map((e) => e.flavorId)).toEqual([
      a.flavorId,
    ]);
    expect(second.catalog.get(b.flavorId)).toBeDefined();
  });

  it("keeps a flavor's renewal through partial sales, loaded or not yet scheduled", async () => {
    const { clock, a, b, second, events } = await reopenedWithTwo({
      ...k8slice({ cpu: '8' }, {}),
      ttlSeconds: 10,
      autoRenew: true,
    });
    const config = { type: 'k8slice' as const, data: { cpu: '1', memory: '1Gi', pods: '10' } };
    /** A partial sale as the catalog records it (the sale path's own call). */
    const sell = (flavorId: string) => {
      const entry = second.catalog.get(flavorId) as FlavorEntry;
      second.catalog.sold(entry, sale(entry, needFor(entry, config), config).remainder);
    };
    // b is sold in the turn it is loaded, before the background scheduling reaches its
    // deadline; a once its deadline is set.
    sell(b.flavorId);
    await second.ready;
    sell(a.flavorId);
    sell(a.flavorId);
    // Both are renewed when the first publication's deadline comes (8 s: a fifth of the TTL).
    clock.advance(8_000);
    await flush();
    const renewed = events.filter((e) => e.kind === 'refreshed');
    expect(renewed.map((e) => e.flavorId).sort()).toEqual([a.flavorId, b.flavorId].sort());
    for (const e of renewed) {
      const msg = JSON.parse(e.wire) as Extract<ServerMessage, { type: 'REFRESH_FLAVOR' }>;
      expect(msg.ModificationDetails.map((c) => c.FieldModified).sort()).toEqual([
        'expirationTime',
        'timestamp',
      ]);
      // What the sales left is what is renewed.
      expect(msg.Flavor.type.data).toMatchObject({
        characteristics: { cpu: e.flavorId === a.flavorId ? '6' : '7' },
      });
    }
  });
});
