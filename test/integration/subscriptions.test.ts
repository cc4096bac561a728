import { Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { FakeClock } from '../../src/clock.js';
import { hubsClosedAfterEach, k8slice, sleep, WsClient, type TestHub } from '../helpers/hub.js';

let clients: WsClient[] = [];
afterEach(() => {
  for (const c of clients) c.close();
  clients = [];
  vi.restoreAllMocks();
});
const hub = hubsClosedAfterEach();

async function client(h: TestHub, token = C0): Promise<WsClient> {
  const c = await WsClient.open(h.wsUrl, token);
  clients.push(c);
  return c;
}

const P = 'tok-provider-a';
const C0 = 'tok-consumer-0';
const C1 = 'tok-consumer-1';

async function publish(h: TestHub, body: unknown = k8slice()): Promise<any> {
  const r = await h.api('POST', '/api/v2/flavors', P, body);
  expect(r.status).toBe(201);
  return r.body;
}

describe('SUBSCRIBE_FLAVOR by flavor id', () => {
  it('snapshot, REFRESH_FLAVOR with ModificationDetails, WITHDRAW_FLAVOR, then nothing', async () => {
    const h = await hub();
    const f = await publish(h);
    const c = await client(h);
    c.send({ type: 'SUBSCRIBE_FLAVOR', id: 'r1', flavorId: f.flavorId });
    const sub = await c.next((m) => m.type === 'SUBSCRIBED');
    expect(sub).toMatchObject({ id: 'r1', flavorId: f.flavorId, flavors: [f] });
    expect(sub.subscription).toMatch(/^\d+$/);

    await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, P, {
      price: { amount: '2.00', currency: 'EUR', period: 'hour' },
    });
    const ref = await c.next((m) => m.type === 'REFRESH_FLAVOR');
    expect(ref.flavorId).toBe(f.flavorId);
    expect(ref.Flavor.price.amount).toBe('2.00');
    expect(typeof ref.seq).toBe('number');
    expect(Date.parse(ref.at)).toBeGreaterThan(0);
    const fields = Object.fromEntries(
      ref.ModificationDetails.map((d: any) => [d.FieldModified, d]),
    );
    expect(fields['price.amount']).toEqual({
      FieldModified: 'price.amount',
      OldValue: '1.00',
      NewValue: '2.00',
    });
    expect(fields.expirationTime.OldValue).toBe(f.expirationTime);
    expect(Object.keys(fields).sort()).toEqual(['expirationTime', 'price.amount', 'timestamp']);

    await h.api('POST', `/api/v2/flavors/${f.flavorId}/withdraw`, P, {
      Reason: { Message: 'gone fishing' },
    });
    const wd = await c.next((m) => m.type === 'WITHDRAW_FLAVOR');
    expect(wd.Reason).toEqual({ Message: 'gone fishing', Code: 'operator' });
    expect(wd.seq).toBeGreaterThan(ref.seq);
    const count = c.messages.length;
    await publish(h);
    c.send({ type: 'PING', id: 'p' });
    await c.next((m) => m.type === 'PONG' && m.id === 'p');
    expect(c.messages.slice(count).map((m) => m.type)).toEqual(['PONG']);
  });

  it('UNSUBSCRIBE_FLAVOR stops delivery, by subscription id or by flavorId', async () => {
    const h = await hub();
    const f = await publish(h);
    const g = await publish(h);
    const c = await client(h);
    c.send({ type: 'SUBSCRIBE_FLAVOR', id: 'a', flavorId: f.flavorId });
    const sa = await c.next((m) => m.type === 'SUBSCRIBED' && m.id === 'a');
    c.send({ type: 'SUBSCRIBE_FLAVOR', id: 'b', flavorId: g.flavorId });
    await c.next((m) => m.type === 'SUBSCRIBED' && m.id === 'b');
    c.send({ type: 'UNSUBSCRIBE_FLAVOR', id: 'u1', subscription: sa.subscription });
    expect(await c.next((m) => m.type === 'UNSUBSCRIBED' && m.id === 'u1')).toMatchObject({
      subscription: sa.subscription,
    });
    c.send({ type: 'UNSUBSCRIBE_FLAVOR', id: 'u2', flavorId: g.flavorId });
    await c.next((m) => m.type === 'UNSUBSCRIBED' && m.id === 'u2');
    await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, P);
    await h.api('POST', `/api/v2/flavors/${g.flavorId}/refresh`, P);
    c.send({ type: 'PING', id: 'end' });
    await c.next((m) => m.type === 'PONG');
    expect(c.messages.filter((m) => m.type === 'REFRESH_FLAVOR')).toEqual([]);
  });

  it('a flavor that does not exist → ERROR FLAVOR_NOT_FOUND', async () => {
    const h = await hub();
    const c = await client(h);
    c.send({ type: 'SUBSCRIBE_FLAVOR', id: 'x', flavorId: 'fl-nope' });
    expect(await c.next((m) => m.type === 'ERROR')).toMatchObject({
      id: 'x',
      code: 'FLAVOR_NOT_FOUND',
    });
  });
});

describe('SUBSCRIBE_FLAVOR by selector', () => {
  it('snapshot of matches, FLAVOR_ADDED only for matching offers, REFRESH when an offer leaves the view', async () => {
    const h = await hub();
    const big = await publish(h, k8slice({ cpu: '8' }));
    await publish(h, k8slice({ cpu: '2' }));
    await publish(h, {
      type: { name: 'sensor', data: { Characteristics: { SensorType: 't' } } },
      price: { amount: '1', currency: 'EUR', period: 'h' },
    });
    const c = await client(h);
    const selector = {
      type: 'k8slice',
      filter: { cpu: { range: { min: '4' } }, price: { range: { max: '2' } } },
    };
    c.send({ type: 'SUBSCRIBE_FLAVOR', id: 's', selector });
    const sub = await c.next((m) => m.type === 'SUBSCRIBED');
    expect(sub.flavors.map((f: any) => f.flavorId)).toEqual([big.flavorId]);
    expect(sub.selector).toEqual(selector);

    const small = await publish(h, k8slice({ cpu: '1' }));
    const large = await publish(h, k8slice({ cpu: '16' }));
    const added = await c.next((m) => m.type === 'FLAVOR_ADDED');
    expect(added.flavorId).toBe(large.flavorId);

    // A change that takes an offer out of the view is told (it matched before); changes
    // outside the view are not.
    const dear = { price: { amount: '3.00', currency: 'EUR', period: 'hour' } };
    await h.api('POST', `/api/v2/flavors/${small.flavorId}/refresh`, P);
    await h.api('POST', `/api/v2/flavors/${big.flavorId}/refresh`, P, dear);
    const r = await c.next((m) => m.type === 'REFRESH_FLAVOR');
    expect(r.flavorId).toBe(big.flavorId);
    expect(r.Flavor.price.amount).toBe('3.00');
    await h.api('POST', `/api/v2/flavors/${big.flavorId}/refresh`, P, dear);
    c.send({ type: 'PING', id: 'end' });
    await c.next((m) => m.type === 'PONG');
    expect(
      c.messages.filter((m) => m.type !== 'PONG' && m.type !== 'SUBSCRIBED').map((m) => m.flavorId),
    ).toEqual([large.flavorId, big.flavorId]);
  });

  it('{} means every flavor; INVALID_SELECTOR names the key', async () => {
    const h = await hub();
    await publish(h);
    await publish(h, {
      type: { name: 'sensor', data: { Characteristics: { SensorType: 't' } } },
      price: { amount: '1', currency: 'EUR', period: 'h' },
    });
    const c = await client(h);
    c.send({ type: 'SUBSCRIBE_FLAVOR', selector: {} });
    expect((await c.next((m) => m.type === 'SUBSCRIBED')).flavors).toHaveLength(2);
    c.send({
      type: 'SUBSCRIBE_FLAVOR',
      id: 'bad',
      selector: { type: 'k8slice', filter: { cpu: { range: { min: 'lots' } } } },
    });
    const err = await c.next((m) => m.type === 'ERROR');
    expect(err).toMatchObject({ id: 'bad', code: 'INVALID_SELECTOR' });
    expect(err.message).toContain('filter[cpu][range][min]');
  });
});

describe('sales over the channel', () => {
  it('a purchase → WITHDRAW_FLAVOR (sold) to subscribers, CONFIRM_RESERVATION to the buyer’s sockets only', async () => {
    const h = await hub();
    const f = await publish(h);
    const buyerA = await client(h, C0);
    const buyerB = await client(h, C0);
    const other = await client(h, C1);
    for (const c of [buyerA, buyerB, other]) {
      c.send({ type: 'SUBSCRIBE_FLAVOR', flavorId: f.flavorId });
      await c.next((m) => m.type === 'SUBSCRIBED');
    }
    const tx = (await h.api('POST', '/api/v2/reservations', C0, { FlavorID: f.flavorId })).body;
    const contract = (await h.api('POST', `/api/v2/transactions/${tx.TransactionID}/purchase`, C0))
      .body;
    for (const c of [buyerA, buyerB, other]) {
      const wd = await c.next((m) => m.type === 'WITHDRAW_FLAVOR');
      expect(wd.Reason.Code).toBe('sold');
    }
    for (const c of [buyerA, buyerB]) {
      expect(await c.next((m) => m.type === 'CONFIRM_RESERVATION')).toMatchObject({
        ContractID: contract.ContractID,
        TransactionID: tx.TransactionID,
        FlavorID: f.flavorId,
      });
    }
    other.send({ type: 'PING', id: 'end' });
    await other.next((m) => m.type === 'PONG');
    expect(other.messages.some((m) => m.type === 'CONFIRM_RESERVATION')).toBe(false);
  });

  it('a partition sale → REFRESH_FLAVOR of the remainder', async () => {
    const h = await hub();
    const f = await publish(h, k8slice({ cpu: '4', memory: '4Gi', pods: '40' }, {}));
    const c = await client(h, C1);
    c.send({ type: 'SUBSCRIBE_FLAVOR', selector: { type: 'k8slice' } });
    await c.next((m) => m.type === 'SUBSCRIBED');
    const tx = (
      await h.api('POST', '/api/v2/reservations', C0, {
        FlavorID: f.flavorId,
        Configuration: { type: 'k8slice', data: { cpu: '1', memory: '1Gi', pods: '10' } },
      })
    ).body;
    await h.api('POST', `/api/v2/transactions/${tx.TransactionID}/purchase`, C0);
    const r = await c.next((m) => m.type === 'REFRESH_FLAVOR');
    const fields = Object.fromEntries(
      r.ModificationDetails.map((d: any) => [d.FieldModified, [d.OldValue, d.NewValue]]),
    );
    expect(fields).toEqual({
      'type.data.characteristics.cpu': ['4', '3'],
      'type.data.characteristics.memory': ['4Gi', '3Gi'],
      'type.data.characteristics.pods': ['40', '30'],
    });
  });
});

describe('the catalog scheduler, live', () => {
  it('retracts a 1-second flavor (expired) and renews an autoRenew one', async () => {
    const h = await hub();
    const c = await client(h);
    c.send({ type: 'SUBSCRIBE_FLAVOR', selector: {} });
    await c.next((m) => m.type === 'SUBSCRIBED');
    const dies = await publish(h, { ...k8slice(), ttlSeconds: 1, autoRenew: false });
    const lives = await publish(h, { ...k8slice(), ttlSeconds: 1, autoRenew: true });
    const wd = await c.next((m) => m.type === 'WITHDRAW_FLAVOR', 3000);
    expect(wd).toMatchObject({ flavorId: dies.flavorId, Reason: { Code: 'expired' } });
    const rf = await c.next(
      (m) => m.type === 'REFRESH_FLAVOR' && m.flavorId === lives.flavorId,
      3000,
    );
    expect(Date.parse(rf.Flavor.expirationTime)).toBeGreaterThan(Date.parse(lives.expirationTime));
    await sleep(1200);
    expect((await h.api('GET', `/api/v2/flavors/${lives.flavorId}`, C0)).status).toBe(200);
  });
});

describe('resume with since', () => {
  it('a burst of events in one turn reaches every subscriber complete, in order, in few writes', async () => {
    const h = await hub();
    const flavors = await Promise.all([publish(h), publish(h), publish(h)]);
    const all = await client(h);
    all.send({ type: 'SUBSCRIBE_FLAVOR', selector: {} });
    const one = await client(h, C1);
    one.send({ type: 'SUBSCRIBE_FLAVOR', flavorId: flavors[0].flavorId });
    await all.next((m) => m.type === 'SUBSCRIBED');
    await one.next((m) => m.type === 'SUBSCRIBED');
    // Every TCP write in this process from here on (the burst below makes no HTTP requests).
    const proto = Socket.prototype as unknown as Record<'_write' | '_writev', () => void>;
    const writes = [vi.spyOn(proto, '_write'), vi.spyOn(proto, '_writev')];
    const from = all.messages.length;
    const provider = {
      role: 'provider' as const,
      identity: { Domain: 'a.test', NodeID: 'prov-a', IP: '10.0.0.1' },
    };
    // Thirty refreshes started in one turn: their commits share a batch, their events one turn.
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        h.app.market.offers.refresh(provider, flavors[i % 3].flavorId, {
          price: { amount: `${i + 2}.00`, currency: 'EUR', period: 'hour' },
        }),
      ),
    );
    await all.next(
      (m) => m.type === 'REFRESH_FLAVOR' && m.Flavor.price.amount === '31.00',
      5000,
      from,
    );
    const seen = all.messages.slice(from).filter((m) => m.type === 'REFRESH_FLAVOR');
    expect(seen.map((m) => m.Flavor.price.amount)).toEqual(
      Array.from({ length: 30 }, (_, i) => `${i + 2}.00`),
    );
    const seqs = seen.map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(30);
    // 40 frames left in a handful of writes, not one write each.
    const calls = writes.reduce((n, w) => n + w.mock.calls.length, 0);
    for (const w of writes) w.mockRestore();
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(10);
    const mine = await one.next(
      (m) => m.type === 'REFRESH_FLAVOR' && m.Flavor.price.amount === '29.00',
    );
    expect(mine.flavorId).toBe(flavors[0].flavorId);
    expect(one.messages.filter((m) => m.type === 'REFRESH_FLAVOR')).toHaveLength(10);
  });

  it('replays what was missed after a drop, in order, with no gap and no duplicate', async () => {
    const h = await hub();
    const f = await publish(h);
    const c = await client(h);
    c.send({ type: 'SUBSCRIBE_FLAVOR', selector: {} });
    const sub = await c.next((m) => m.type === 'SUBSCRIBED');
    await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, P);
    const seen = await c.next((m) => m.type === 'REFRESH_FLAVOR');
    expect(seen.seq).toBeGreaterThan(sub.seq);
    c.close();
    // Missed while away:
    await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, P, {
      price: { amount: '5', currency: 'EUR', period: 'h' },
    });
    const g = await publish(h);
    await h.api('POST', `/api/v2/flavors/${f.flavorId}/withdraw`, P);
    const again = await client(h);
    again.send({ type: 'SUBSCRIBE_FLAVOR', id: 'resume', selector: {}, since: seen.seq });
    const resumed = await again.next((m) => m.type === 'SUBSCRIBED');
    expect(resumed.recovered).toBe(true);
    expect(resumed.flavors).toEqual([]);
    const replay = await again.next((m) => m.type === 'WITHDRAW_FLAVOR');
    const events = again.messages.filter((m) => m.seq !== undefined && m.type !== 'SUBSCRIBED');
    expect(events.map((m) => m.type)).toEqual([
      'REFRESH_FLAVOR',
      'FLAVOR_ADDED',
      'WITHDRAW_FLAVOR',
    ]);
    expect(events[1].flavorId).toBe(g.flavorId);
    const seqs = events.map((m) => m.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(seqs[0]).toBeGreaterThan(seen.seq);
    // Then live, with nothing twice.
    await h.api('POST', `/api/v2/flavors/${g.flavorId}/refresh`, P);
    const live = await again.next(
      (m) => m.type === 'REFRESH_FLAVOR' && m.flavorId === g.flavorId && m.seq > replay.seq,
    );
    expect(live.seq).toBeGreaterThan(replay.seq);
    const all = again.messages
      .filter((m) => m.seq !== undefined && m.type !== 'SUBSCRIBED')
      .map((m) => m.seq);
    expect(new Set(all).size).toBe(all.length);
  });

  it('resumes a flavorId subscription, and says recovered:false with a snapshot past the history', async () => {
    const h = await hub({ history: { maxEvents: 5 } });
    const f = await publish(h);
    const c = await client(h);
    c.send({ type: 'SUBSCRIBE_FLAVOR', flavorId: f.flavorId });
    const sub = await c.next((m) => m.type === 'SUBSCRIBED');
    c.close();
    await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, P);
    const near = await client(h);
    near.send({ type: 'SUBSCRIBE_FLAVOR', flavorId: f.flavorId, since: sub.seq });
    expect((await near.next((m) => m.type === 'SUBSCRIBED')).recovered).toBe(true);
    expect((await near.next((m) => m.type === 'REFRESH_FLAVOR')).flavorId).toBe(f.flavorId);
    for (let i = 0; i < 10; i++) await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, P);
    const far = await client(h);
    far.send({ type: 'SUBSCRIBE_FLAVOR', flavorId: f.flavorId, since: sub.seq });
    const snap = await far.next((m) => m.type === 'SUBSCRIBED');
    expect(snap.recovered).toBe(false);
    expect(snap.flavors.map((x: any) => x.flavorId)).toEqual([f.flavorId]);
    expect(snap.flavors[0].timestamp).not.toBe(f.timestamp);
  });

  it('keeps the history across a restart', async () => {
    const h = await hub();
    const f = await publish(h);
    const c = await client(h);
    c.send({ type: 'SUBSCRIBE_FLAVOR', flavorId: f.flavorId });
    const sub = await c.next((m) => m.type === 'SUBSCRIBED');
    await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, P);
    await c.next((m) => m.type === 'REFRESH_FLAVOR');
    c.close();
    await h.app.close();
    const h2 = await hub({ dbPath: h.dbPath });
    const again = await client(h2);
    again.send({ type: 'SUBSCRIBE_FLAVOR', flavorId: f.flavorId, since: sub.seq });
    expect((await again.next((m) => m.type === 'SUBSCRIBED')).recovered).toBe(true);
    expect((await again.next((m) => m.type === 'REFRESH_FLAVOR')).flavorId).toBe(f.flavorId);
  });
  it('after a restart, resumes from the history the store kept: pages of it, then what was published meanwhile, once each; later frames wait their turn', async () => {
    const h = await hub();
    const f = await publish(h);
    const c = await client(h);
    c.send({ type: 'SUBSCRIBE_FLAVOR', selector: {} });
    const since = (await c.next((m) => m.type === 'SUBSCRIBED')).seq as number;
    const provider = {
      role: 'provider' as const,
      identity: { Domain: 'a.test', NodeID: 'prov-a', IP: '10.0.0.1' },
    };
    const refresh = (market: typeof h.app.market, i: number) =>
      market.offers.refresh(provider, f.flavorId, {
        price: { amount: `${i}.00`, currency: 'EUR', period: 'hour' },
      });
    // More than a page of the store's history (a resume reads 1,000 events per turn).
    const N = 2100;
    await Promise.all(Array.from({ length: N }, (_, i) => refresh(h.app.market, i + 1)));
    c.close();
    await h.app.close();

    const h2 = await hub({ dbPath: h.dbPath });
    const last = h2.app.market.bus.lastSeq;
    expect(last).toBe(since + N);
    const again = await client(h2);
    // Sent together: the PING is answered after the resume, whichever turn that ends in.
    again.send({ type: 'SUBSCRIBE_FLAVOR', id: 's', selector: {}, since });
    again.send({ type: 'PING', id: 'p' });
    // Published while the resume may still be reading the store.
    const live = refresh(h2.app.market, N + 1);
    await again.next((m) => m.type === 'PONG');
    await live;
    await again.next((m) => m.type === 'REFRESH_FLAVOR' && m.seq === last + 1);
    const types = again.messages.map((m) => m.type);
    expect(types[0]).toBe('SUBSCRIBED');
    expect(again.messages[0].recovered).toBe(true);
    expect(types.indexOf('PONG')).toBeGreaterThanOrEqual(N + 1);
    const seqs = again.messages.filter((m) => m.type === 'REFRESH_FLAVOR').map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: N + 1 }, (_, i) => since + 1 + i));
    expect(
      again.messages.filter((m) => m.type === 'REFRESH_FLAVOR').at(-1).Flavor.price.amount,
    ).toBe(`${N + 1}.00`);

    // An UNSUBSCRIBE sent right behind a resume that reads the store ends that subscription.
    const brief = await client(h2);
    brief.send({ type: 'SUBSCRIBE_FLAVOR', selector: {}, since });
    brief.send({ type: 'UNSUBSCRIBE_FLAVOR', id: 'u', selector: {} });
    await brief.next((m) => m.type === 'UNSUBSCRIBED');
    expect(brief.messages[0]).toMatchObject({ type: 'SUBSCRIBED', recovered: true });
    expect(brief.messages.filter((m) => m.type === 'REFRESH_FLAVOR')).toHaveLength(N + 1);
    await refresh(h2.app.market, N + 2);
    brief.send({ type: 'PING', id: 'after' });
    await brief.next((m) => m.type === 'PONG');
    expect(brief.messages.filter((m) => m.type === 'REFRESH_FLAVOR')).toHaveLength(N + 1);
  });

  it('names its history with an epoch: kept across a restart, new with a new store, never recovered across', async () => {
    const h = await hub();
    const f = await publish(h);
    const c = await client(h);
    c.send({ type: 'SUBSCRIBE_FLAVOR', flavorId: f.flavorId });
    const sub = await c.next((m) => m.type === 'SUBSCRIBED');
    expect(sub.epoch).toMatch(/^[0-9a-f]{16}$/);
    c.close();
    await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, P);
    await h.app.close();
    // The same store after a restart: the same epoch, and a resume with it is recovered.
    const h2 = await hub({ dbPath: h.dbPath });
    const same = await client(h2);
    same.send({ type: 'SUBSCRIBE_FLAVOR', flavorId: f.flavorId, since: sub.seq, epoch: sub.epoch });
    const again = await same.next((m) => m.type === 'SUBSCRIBED');
    expect(again.epoch).toBe(sub.epoch);
    expect(again.recovered).toBe(true);
    // The same position in another history is refused: a snapshot, not a replay.
    const other = await client(h2);
    other.send({ type: 'SUBSCRIBE_FLAVOR', flavorId: f.flavorId, since: sub.seq, epoch: 'ffff' });
    const snap = await other.next((m) => m.type === 'SUBSCRIBED');
    expect(snap.recovered).toBe(false);
    expect(snap.flavors.map((x: any) => x.flavorId)).toEqual([f.flavorId]);
    // A new store starts a new history.
    const fresh = await hub();
    const n = await client(fresh);
    n.send({ type: 'SUBSCRIBE_FLAVOR', selector: {} });
    expect((await n.next((m) => m.type === 'SUBSCRIBED')).epoch).not.toBe(sub.epoch);
  });

  it('a selector resumes across a restart with the refresh that took an offer out of its view', async () => {
    const h = await hub();
    const inView = await publish(h);
    const outside = await publish(h, {
      ...k8slice(),
      price: { amount: '5.00', currency: 'EUR', period: 'hour' },
    });
    const c = await client(h);
    const selector = { filter: { price: { range: { max: '2' } } } };
    c.send({ type: 'SUBSCRIBE_FLAVOR', selector });
    const sub = await c.next((m) => m.type === 'SUBSCRIBED');
    c.close();
    // While the client is away: one offer leaves the view, another changes outside it.
    const dear = { price: { amount: '3.00', currency: 'EUR', period: 'hour' } };
    await h.api('POST', `/api/v2/flavors/${inView.flavorId}/refresh`, P, dear);
    await h.api('POST', `/api/v2/flavors/${outside.flavorId}/refresh`, P, dear);
    await h.app.close();
    // After the restart the history comes from the store; the match before the change is
    // decided on the flavor before it, rebuilt from the refresh's ModificationDetails.
    const h2 = await hub({ dbPath: h.dbPath });
    const again = await client(h2);
    again.send({ type: 'SUBSCRIBE_FLAVOR', selector, since: sub.seq });
    expect((await again.next((m) => m.type === 'SUBSCRIBED')).recovered).toBe(true);
    const left = await again.next((m) => m.type === 'REFRESH_FLAVOR');
    expect(left.flavorId).toBe(inView.flavorId);
    expect(left.Flavor.price.amount).toBe('3.00');
    again.send({ type: 'PING', id: 'end' });
    await again.next((m) => m.type === 'PONG');
    expect(again.messages.filter((m) => m.type === 'REFRESH_FLAVOR')).toHaveLength(1);
  });
});

describe('protocol hygiene', () => {
  it('malformed frames and unknown types → ERROR INVALID_REQUEST, connection stays open', async () => {
    const h = await hub();
    const c = await client(h);
    const bad: unknown[] = [
      'not json',
      '[]',
      { type: 'NOPE' },
      { type: 'SUBSCRIBE_FLAVOR' },
      { type: 'SUBSCRIBE_FLAVOR', flavorId: 'a', selector: {} },
      { type: 'SUBSCRIBE_FLAVOR', flavorId: 42 },
      { type: 'SUBSCRIBE_FLAVOR', flavorId: 'a', since: -1 },
      { type: 'UNSUBSCRIBE_FLAVOR' },
      { type: 'PING', extra: true },
    ];
    for (const [i, frame] of bad.entries()) {
      const before = c.messages.length;
      c.send(typeof frame === 'string' ? frame : frame);
      const err = await c.next((m) => m.type === 'ERROR', 2000, before);
      expect(err.code, JSON.stringify(frame)).toBe('INVALID_REQUEST');
      expect(typeof err.message).toBe('string');
      expect(i).toBeGreaterThanOrEqual(0);
    }
    c.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    await c.next((m) => m.type === 'ERROR', 2000, c.messages.length);
    c.send({ type: 'PING', id: 'alive' });
    expect(await c.next((m) => m.type === 'PONG')).toEqual({ type: 'PONG', id: 'alive' });
  });

  it('a frame over 64 KiB closes the connection with 1009', async () => {
    const h = await hub();
    const c = await client(h);
    c.send({ type: 'PING', id: 'x'.repeat(70 * 1024) });
    expect(await c.closed()).toBe(1009);
  });

  it('a client that never reads is closed 1013 while a normal client keeps receiving', async () => {
    const h = await hub({ ws: { maxBacklogBytes: 256 * 1024, closeGraceMs: 60_000 } });
    const bulky = {
      type: {
        name: 'sensor',
        data: { Characteristics: { SensorType: 't', Blob: 'z'.repeat(200 * 1024) } },
      },
      price: { amount: '1', currency: 'EUR', period: 'h' },
    };
    const f = await publish(h, bulky);
    const slow = await client(h, C1);
    const normal = await client(h, C0);
    for (const c of [slow, normal]) {
      c.send({ type: 'SUBSCRIBE_FLAVOR', flavorId: f.flavorId });
      await c.next((m) => m.type === 'SUBSCRIBED');
    }
    // The slow client stops reading from its socket.
    (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const N = 60;
    for (let i = 0; i < N; i++) await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, P);
    // 12 MB through loopback: generous waits, for a loaded machine.
    await normal.next(
      () => normal.messages.filter((m) => m.type === 'REFRESH_FLAVOR').length === N,
      30_000,
    );
    expect(h.app.hub.size).toBe(2);
    (slow.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await slow.closed(30_000)).toBe(1013);
    expect(slow.messages.filter((m) => m.type === 'REFRESH_FLAVOR').length).toBeLessThan(N);
  }, 90_000);

  it('drops a connection that stops answering pings', async () => {
    const h = await hub({ ws: { pingIntervalMs: 150 } });
    const live = await client(h);
    const dead = await client(h, C1);
    (dead.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    await sleep(600);
    expect(h.app.hub.size).toBe(1);
    live.send({ type: 'PING', id: 'still' });
    await live.next((m) => m.type === 'PONG');
  });

  it('pings a slice of the connections per tick, each once per interval, and drops the silent one a turn later', async () => {
    const clock = new FakeClock(Date.now());
    // 3 s: three slices of a second each (ws/ping-wheel.ts).
    const h = await hub({ clock, consumers: 6, ws: { pingIntervalMs: 3000 } });
    let cs: WsClient[] = [];
    for (let i = 0; i < 6; i++) cs.push(await client(h, `tok-consumer-${i}`));
    const pings = new Map(cs.map((c) => [c, 0]));
    for (const c of cs) c.socket.on('ping', () => pings.set(c, (pings.get(c) ?? 0) + 1));
    // A round trip on every client after a tick: the tick's pings were written before the
    // hub read these PINGs, so each has arrived by the time its PONG does.
    const tick = async () => {
      const before = new Map(pings);
      clock.advance(1000);
      const id = `t${clock.now()}`;
      await Promise.all(
        cs.map(async (c) => {
          c.send({ type: 'PING', id });
          await c.next((m) => m.type === 'PONG' && m.id === id);
        }),
      );
      return cs.filter((c) => (pings.get(c) as number) > (before.get(c) as number));
    };
    const slices: WsClient[][] = [];
    for (let t = 0; t < 3; t++) slices.push(await tick());
    // Two connections per tick, each connection once in the turn.
    expect(slices.map((s) => s.length)).toEqual([2, 2, 2]);
    expect(new Set(slices.flat()).size).toBe(6);
    expect([...pings.values()]).toEqual([1, 1, 1, 1, 1, 1]);

    // One client stops reading: it cannot answer its next ping, and the visit after drops it.
    const silent = slices[0]?.[0] as WsClient;
    (silent.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    cs = cs.filter((c) => c !== silent);
    for (let t = 0; t < 6; t++) await tick();
    expect(h.app.hub.size).toBe(5);
    expect(h.app.hub.counters.pingDrops).toBe(1);
    expect(cs.map((c) => pings.get(c))).toEqual([3, 3, 3, 3, 3]);
  });

  it('an upgrade without a valid token is an HTTP 401; access_token works for browsers', async () => {
    const h = await hub();
    await expect(WsClient.open(h.wsUrl)).rejects.toThrow(/401/);
    await expect(WsClient.open(h.wsUrl, 'wrong-token')).rejects.toThrow(/401/);
    await expect(WsClient.open(h.wsUrl, 'wrong-token', true)).rejects.toThrow(/401/);
    const viaQuery = await WsClient.open(h.wsUrl, C0, true);
    clients.push(viaQuery);
    viaQuery.send({ type: 'PING' });
    expect(await viaQuery.next((m) => m.type === 'PONG')).toEqual({ type: 'PONG' });
    const plain = await h.api('GET', '/api/v2/subscriptions', C0);
    expect(plain.status).toBe(400);
  });

  it('an upgrade asked of any other route gets that route’s HTTP answer, and its socket ends', async () => {
    const h = await hub();
    for (const [path, status] of [
      ['/api/v2/flavors', 200],
      ['/api/v2/nowhere', 404],
      ['/healthz', 200],
    ] as const) {
      const ws = new WebSocket(`${h.url.replace(/^http/, 'ws')}${path}`, {
        headers: { authorization: `Bearer ${C0}` },
      });
      const answer = await new Promise<{ status: number; ended: Promise<void> }>(
        (resolve, reject) => {
          ws.on('unexpected-response', (_req, res) => {
            const ended = new Promise<void>((done) => res.socket.once('close', () => done()));
            res.resume();
            resolve({ status: res.statusCode ?? 0, ended });
          });
          ws.on('open', () => reject(new Error(`${path} upgraded`)));
        },
      );
      expect(answer.status).toBe(status);
      // The server ends the connection: nothing else can follow an upgrade request on it.
      await answer.ended;
    }
  });

  it('closes clients with 1001 when the hub shuts down', async () => {
    const h = await hub();
    const c = await client(h);
    const closing = h.close();
    expect(await c.closed()).toBe(1001);
    await closing;
  });

  it('the raw ws library sees text frames of one JSON message each', async () => {
    const h = await hub();
    const socket = new WebSocket(h.wsUrl, { headers: { authorization: `Bearer ${C0}` } });
    const frame = await new Promise<{ data: string; binary: boolean }>((resolve, reject) => {
      socket.once('open', () => socket.send(JSON.stringify({ type: 'PING', id: '1' })));
      socket.once('message', (data, binary) => resolve({ data: data.toString(), binary }));
      socket.once('error', reject);
    });
    socket.terminate();
    expect(frame.binary).toBe(false);
    expect(JSON.parse(frame.data)).toEqual({ type: 'PONG', id: '1' });
  });
});
