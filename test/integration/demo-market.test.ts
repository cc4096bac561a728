import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock.js';
import { DemoMarket } from '../../src/demo/market.js';
import { seedDemoCatalog } from '../../src/demo/seed.js';
import type { TokenEntry } from '../../src/types/wire.js';
import { prng } from '../../scripts/bench/lib/catalog.js';
import { sleep, startHub, WsClient, type TestHub } from '../helpers/hub.js';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
});

const tokens: TokenEntry[] = [
  {
    token: 'demo-provider-milan',
    role: 'provider',
    identity: { Domain: 'milan', NodeID: 'provider-milan', IP: '1' },
  },
  {
    token: 'demo-provider-turin',
    role: 'provider',
    identity: { Domain: 'turin', NodeID: 'provider-turin', IP: '2' },
  },
  {
    token: 'demo-provider-paris',
    role: 'provider',
    identity: { Domain: 'paris', NodeID: 'provider-paris', IP: '3' },
  },
  {
    token: 'demo-consumer-alice',
    role: 'consumer',
    identity: { Domain: 'alice', NodeID: 'consumer-alice', IP: '4' },
  },
  {
    token: 'demo-consumer-bob',
    role: 'consumer',
    identity: { Domain: 'bob', NodeID: 'consumer-bob', IP: '5' },
  },
];

describe('the demo catalog and the demo market', () => {
  it('seeds at least 40 flavors over all four types and three providers', async () => {
    hub = await startHub({ tokens });
    expect(await seedDemoCatalog(hub.app.market, tokens)).toBeGreaterThanOrEqual(40);
    const all = (await hub.api('GET', '/api/v2/flavors', 'demo-consumer-alice')).body as any[];
    expect(all.length).toBeGreaterThanOrEqual(40);
    expect(new Set(all.map((f) => f.type.name))).toEqual(
      new Set(['k8slice', 'vm', 'service', 'sensor']),
    );
    expect(new Set(all.map((f) => f.providerId)).size).toBe(3);
    expect(new Set(all.map((f) => f.price.amount)).size).toBeGreaterThan(20);
    // A second start on the same store does not seed again.
    expect(await seedDemoCatalog(hub.app.market, tokens)).toBe(0);
  });

  it('moves the market through the public API: publishes, reprices, withdraws, buys', async () => {
    hub = await startHub({ tokens });
    await seedDemoCatalog(hub.app.market, tokens);
    const watcher = await WsClient.open(hub.wsUrl, 'demo-consumer-alice');
    watcher.send({ type: 'SUBSCRIBE_FLAVOR', selector: {} });
    await watcher.next((m) => m.type === 'SUBSCRIBED');
    const clock = new FakeClock();
    const errors: unknown[] = [];
    const market = new DemoMarket({
      baseUrl: hub.url,
      tokens,
      clock,
      random: prng(7),
      onError: (e) => errors.push(e),
    });
    for (let i = 0; i < 30; i++) {
      await market.tick();
      clock.advance(6000); // lets the demo buyer's delayed purchase fire
      await sleep(20);
    }
    market.close();
    market.close();
    await sleep(100);
    const kinds = new Set(watcher.messages.map((m) => m.type));
    expect(kinds).toContain('FLAVOR_ADDED');
    expect(kinds).toContain('REFRESH_FLAVOR');
    expect(kinds).toContain('WITHDRAW_FLAVOR');
    const contracts = (await hub.api('GET', '/api/v2/contracts', 'demo-consumer-bob'))
      .body as any[];
    expect(contracts.length).toBeGreaterThan(0);
    // Races of a live market (an offer withdrawn while held) are answered 404/409/410; nothing else fails.
    for (const e of errors) expect(String(e)).toMatch(/: (404|409|410) /);
    expect(clock.pendingTimers()).toBe(0);
    watcher.close();
  });
});
