/**
 * The SDK (`rear-hub/client`) against a real hub on port 0: every REST call, typed errors,
 * polite retries, and the shared WebSocket — resumed with no gap and no duplicate after a cut,
 * re-snapshotted after the history was reset (another epoch).
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  AuthenticationError,
  ConflictError,
  ExpiredError,
  HubApiError,
  InvalidConfigurationError,
  InvalidRequestError,
  NotFoundError,
  PermissionError,
  RearHub,
  type FlavorEvent,
  type RearHubOptions,
  type SubscribedContext,
  type SubscriptionItem,
  verifyContract,
} from '../../src/client/index.js';
import { hubsClosedAfterEach, k8slice, sleep, startHub, type TestHub } from '../helpers/hub.js';
import { startProxy } from '../helpers/proxy.js';

const P = 'tok-provider-a';
const C0 = 'tok-consumer-0';
const C1 = 'tok-consumer-1';

const hubs = hubsClosedAfterEach();
let clients: RearHub[] = [];
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  for (const f of cleanup.splice(0)) await f();
});

function client(url: string, token: string, over: Partial<RearHubOptions> = {}): RearHub {
  const c = new RearHub({ url, token, WebSocket, ...over });
  clients.push(c);
  return c;
}

/** Resolves once `pred` holds, polling briefly. */
async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function cutSockets(hub: TestHub): void {
  const conns = (hub.app.hub as unknown as { connections: Set<{ socket: { terminate(): void } }> })
    .connections;
  for (const c of conns) c.socket.terminate();
}

describe('the SDK: REST', () => {
  it('makes every call of §4–§7 and reads back what it did', async () => {
    const hub = await hubs();
    const provider = client(hub.url, P);
    const buyer = client(hub.url, C0);

    expect(await buyer.health()).toMatchObject({ status: 'ok' });
    expect(await buyer.whoami()).toMatchObject({
      role: 'consumer',
      identity: { NodeID: 'cons-0' },
    });

    const small = await provider.flavors.publish(k8slice({ cpu: '2' }));
    const big = await provider.flavors.publish(k8slice({ cpu: '8', architecture: 'arm64' }));
    expect(small.providerId).toBe('prov-a');
    expect((await buyer.flavors.list()).map((f) => f.flavorId).sort()).toEqual(
      [small.flavorId, big.flavorId].sort(),
    );
    const filtered = await buyer.flavors.list({
      type: 'k8slice',
      filter: { cpu: { range: { min: '4000m' } }, architecture: { match: 'arm64' } },
    });
    expect(filtered.map((f) => f.flavorId)).toEqual([big.flavorId]);
    expect(await buyer.flavors.get(big.flavorId)).toMatchObject({ flavorId: big.flavorId });

    const refreshed = await provider.flavors.refresh(big.flavorId, {
      price: { amount: '2.50', currency: 'EUR', period: 'hour' },
    });
    expect(refreshed.price.amount).toBe('2.50');

    const tx = await buyer.reserve(big.flavorId, { wait: 5 });
    expect(tx.FlavorID).toBe(big.flavorId);
    expect(await buyer.reserve(big.flavorId)).toMatchObject({ TransactionID: tx.TransactionID });
    expect((await buyer.transaction(tx.TransactionID)).Status).toBe('reserved');
    const contract = await buyer.purchase(tx.TransactionID);
    expect(contract.TransactionID).toBe(tx.TransactionID);
    // A purchase retried replays the same Contract.
    expect((await buyer.purchase(tx.TransactionID)).ContractID).toBe(contract.ContractID);
    expect((await buyer.contracts.list()).map((c) => c.ContractID)).toEqual([contract.ContractID]);
    expect((await buyer.contracts.get(contract.ContractID)).Seller.NodeID).toBe('prov-a');
    // §12: the hub's keys verify the contract's signature.
    const jwks = await buyer.keys();
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect(await verifyContract(contract, jwks)).toMatchObject({ valid: true });

    const tx2 = await buyer.reserve({ FlavorID: small.flavorId });
    await buyer.cancel(tx2.TransactionID);
    expect((await buyer.transaction(tx2.TransactionID)).Status).toBe('cancelled');

    const withdrawn = await provider.flavors.withdraw(small.flavorId, 'maintenance');
    expect(withdrawn.flavorId).toBe(small.flavorId);
    await expect(buyer.flavors.get(small.flavorId)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('throws one typed error class per class of error, with code, status and Retry-After', async () => {
    const hub = await hubs();
    const provider = client(hub.url, P);
    const buyer = client(hub.url, C0);
    const other = client(hub.url, C1);
    const f = await provider.flavors.publish(k8slice({}, {}));

    const caught = async (p: Promise<unknown>): Promise<HubApiError> => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(HubApiError);
      return err as HubApiError;
    };

    const unauth = await caught(client(hub.url, 'nope').flavors.list());
    expect(unauth).toBeInstanceOf(AuthenticationError);
    expect(unauth).toMatchObject({ code: 'UNAUTHORIZED', statusCode: 401 });

    const forbidden = await caught(buyer.flavors.publish(k8slice()));
    expect(forbidden).toBeInstanceOf(PermissionError);
    expect(forbidden.code).toBe('FORBIDDEN');

    const selector = await caught(
      buyer.flavors.list({ type: 'k8slice', filter: { cpu: { match: 'lots' } } }),
    );
    expect(selector).toBeInstanceOf(InvalidRequestError);
    expect(selector.code).toBe('INVALID_SELECTOR');

    const missing = await caught(buyer.flavors.get('fl-none'));
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.code).toBe('FLAVOR_NOT_FOUND');
    expect(missing.body?.message).toBe(missing.message);

    const config = await caught(
      buyer.reserve(f.flavorId, {
        Configuration: { type: 'k8slice', data: { cpu: '1500m', memory: '1Gi', pods: '10' } },
      }),
    );
    expect(config).toBeInstanceOf(InvalidConfigurationError);

    const held = await buyer.reserve(f.flavorId);
    const busy = await caught(other.reserve(f.flavorId, { wait: 0 }));
    expect(busy).toBeInstanceOf(ConflictError);
    expect(busy).toMatchObject({ code: 'FLAVOR_RESERVED', statusCode: 409 });
    expect(busy.retryAfter).toBeGreaterThan(0);

    await buyer.cancel(held.TransactionID);
    const expired = await caught(buyer.purchase(held.TransactionID));
    expect(expired).toBeInstanceOf(ExpiredError);
    expect(expired.code).toBe('TRANSACTION_EXPIRED');
  });

  it('retries 429 honouring Retry-After until the call goes through', async () => {
    const hub = await hubs({ rateLimit: { perSecond: 2, burst: 2 } });
    const retries: number[] = [];
    const buyer = client(hub.url, C0, {
      maxRetries: 5,
      onRetry: ({ delayMs, error }) => {
        expect(error.code).toBe('RATE_LIMITED');
        retries.push(delayMs);
      },
    });
    const lists = await Promise.all([1, 2, 3, 4].map(() => buyer.flavors.list()));
    expect(lists).toEqual([[], [], [], []]);
    expect(retries.length).toBeGreaterThan(0);
    // Never sooner than the hub asked (Retry-After is at least 1 s).
    for (const d of retries) expect(d).toBeGreaterThanOrEqual(1000);
  });

  it('aborts a reservation waiting in line with an AbortSignal', async () => {
    const hub = await hubs();
    const f = await client(hub.url, P).flavors.publish(k8slice());
    await client(hub.url, C1).reserve(f.flavorId);
    const ac = new AbortController();
    const waiting = client(hub.url, C0).reserve(f.flavorId, { wait: 60, signal: ac.signal });
    await sleep(100);
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('the SDK: live', () => {
  it('shares one WebSocket between subscriptions, with callbacks and for-await', async () => {
    const hub = await hubs();
    const provider = client(hub.url, P);
    const buyer = client(hub.url, C0);
    const f = await provider.flavors.publish(k8slice({ cpu: '4' }));
    const states: string[] = [];
    buyer.connection.on('state', (s) => states.push(s.state));

    const byId = buyer.subscribe({ flavorId: f.flavorId });
    const big = buyer.subscribe({
      selector: { type: 'k8slice', filter: { cpu: { range: { min: '8' } } } },
    });
    const got: FlavorEvent[] = [];
    byId.on('event', (e) => got.push(e));
    const first = await byId.ready();
    expect(first).toMatchObject({ recovered: false, wasRecovering: false });
    expect(first?.flavors.map((x) => x.flavorId)).toEqual([f.flavorId]);
    expect(typeof first?.epoch).toBe('string');
    await big.ready();
    expect((hub.app.hub as unknown as { connections: Set<unknown> }).connections.size).toBe(1);
    expect(states).toEqual(['connecting', 'connected']);

    const items: SubscriptionItem[] = [];
    const reading = (async () => {
      for await (const item of big) {
        items.push(item);
        if (item.type === 'FLAVOR_ADDED') break;
      }
    })();
    await provider.flavors.refresh(f.flavorId, {
      price: { amount: '3.00', currency: 'EUR', period: 'hour' },
    });
    const g = await provider.flavors.publish(k8slice({ cpu: '16' }));
    await reading;
    // The selector's reader saw only its own flavor; break unsubscribed it.
    expect(items.map((i) => i.type)).toEqual(['FLAVOR_ADDED']);
    expect((items[0] as FlavorEvent).flavorId).toBe(g.flavorId);
    expect(big.state).toBe('unsubscribed');
    await until(() => got.length === 1, 'the refresh');
    expect(got[0]).toMatchObject({ type: 'REFRESH_FLAVOR', flavorId: f.flavorId });

    // A flavor subscription ends with the flavor's withdrawal.
    await provider.flavors.withdraw(f.flavorId, 'gone');
    await until(() => byId.state === 'unsubscribed', 'the end of the flavor subscription');
    expect(got.map((e) => e.type)).toEqual(['REFRESH_FLAVOR', 'WITHDRAW_FLAVOR']);
  });

  it('refuses a subscription to a flavor that does not exist with a typed error', async () => {
    const hub = await hubs();
    const sub = client(hub.url, C0).subscribe({ flavorId: 'fl-none' });
    await expect(sub.ready()).rejects.toBeInstanceOf(NotFoundError);
    expect(sub.state).toBe('unsubscribed');
    expect(() =>
      client(hub.url, C0).subscribe({ selector: { filter: { cpu: { between: 1 } as never } } }),
    ).toThrow(InvalidRequestError);
  });

  it('a socket cut in the middle of a stream of events resumes with no gap and no duplicate', async () => {
    const hub = await hubs();
    const provider = client(hub.url, P);
    const buyer = client(hub.url, C0);
    const sub = buyer.subscribe({ selector: {} });
    const seen: FlavorEvent[] = [];
    const contexts: SubscribedContext[] = [];
    sub.on('event', (e) => seen.push(e));
    sub.on('subscribed', (c) => contexts.push(c));
    await sub.ready();

    const published: string[] = [];
    for (let i = 0; i < 60; i++) {
      published.push(
        (await provider.flavors.publish(k8slice({ cpu: String(1 + (i % 8)) }))).flavorId,
      );
      if (i === 20 || i === 40) cutSockets(hub);
    }
    await until(() => seen.length >= 60, 'all 60 events');
    await sleep(100);
    expect(seen).toHaveLength(60);
    expect(seen.map((e) => e.flavorId)).toEqual(published);
    const seqs = seen.map((e) => e.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
    expect(contexts[0]).toMatchObject({ recovered: false, wasRecovering: false });
    expect(contexts.slice(1).length).toBeGreaterThanOrEqual(1);
    for (const c of contexts.slice(1))
      expect(c).toMatchObject({ recovered: true, wasRecovering: true });
    expect(sub.flavors()).toHaveLength(60);
  });

  it('two subscriptions resumed together each get their own backlog, once', async () => {
    const hub = await hubs();
    const provider = client(hub.url, P);
    const buyer = client(hub.url, C0);
    const small = buyer.subscribe({
      selector: { type: 'k8slice', filter: { cpu: { range: { max: '4' } } } },
    });
    const all = buyer.subscribe({ selector: {} });
    const a: number[] = [];
    const b: number[] = [];
    small.on('event', (e) => a.push(e.seq));
    all.on('event', (e) => b.push(e.seq));
    await Promise.all([small.ready(), all.ready()]);
    await provider.flavors.publish(k8slice({ cpu: '2' }));
    await until(() => b.length === 1, 'the first event');
    cutSockets(hub);
    for (const cpu of ['8', '2', '16', '1']) await provider.flavors.publish(k8slice({ cpu }));
    await until(() => b.length === 5 && a.length === 3, 'every event');
    await sleep(100);
    expect(b).toHaveLength(5);
    expect(a).toHaveLength(3);
    expect([...new Set(b)]).toEqual(b);
    expect(b).toEqual([...b].sort((x, y) => x - y));
  });

  it('a for-await reader that falls behind its bounded buffer is re-snapshotted, not grown', async () => {
    const hub = await hubs();
    const provider = client(hub.url, P);
    const sub = client(hub.url, C0).subscribe({ selector: {} }, { bufferSize: 3 });
    const it = sub[Symbol.asyncIterator]();
    await sub.ready();
    for (let i = 0; i < 10; i++) await provider.flavors.publish(k8slice());
    await until(() => sub.flavors().length === 10, 'all ten');
    const first = await it.next();
    // The first SUBSCRIBED and ten adds overflowed a buffer of three: a snapshot stands for
    // what the reader missed, then come the events after it (at most the buffer's size).
    expect(first.value).toMatchObject({ type: 'SUBSCRIBED', overflowed: true });
    const ids = (first.value as SubscribedContext).flavors.map((f) => f.flavorId);
    let after = 0;
    while (ids.length < 10) {
      const next = await it.next();
      expect(next.value?.type).toBe('FLAVOR_ADDED');
      ids.push((next.value as FlavorEvent).flavorId);
      after++;
    }
    expect(after).toBeLessThan(3);
    expect(new Set(ids).size).toBe(10);
    await it.return?.();
    expect(sub.state).toBe('unsubscribed');
  });

  it('a resume after the history was reset (epoch changed) is not recovered, and re-snapshots', async () => {
    // Hub A and hub B (a fresh store, further along than A), behind one address.
    const a = await startHub();
    const b = await startHub();
    cleanup.push(
      () => a.close(),
      () => b.close(),
    );
    const proxy = await startProxy(Number(new URL(a.url).port));
    cleanup.push(() => proxy.close());
    await client(a.url, P).flavors.publish(k8slice({ cpu: '2' }));
    const onB: string[] = [];
    for (let i = 0; i < 5; i++)
      onB.push((await client(b.url, P).flavors.publish(k8slice())).flavorId);

    const sub = client(proxy.url, C0).subscribe({ selector: {} });
    const contexts: SubscribedContext[] = [];
    const events: FlavorEvent[] = [];
    sub.on('subscribed', (c) => contexts.push(c));
    sub.on('event', (e) => events.push(e));
    const first = await sub.ready();
    expect(first?.flavors).toHaveLength(1);
    // B's history reaches back past A's position: only the epoch tells them apart.
    expect(first?.seq).toBeLessThan(5);

    proxy.retarget(Number(new URL(b.url).port));
    await until(() => contexts.length === 2, 'the resume');
    expect(contexts[1]).toMatchObject({ recovered: false, wasRecovering: true });
    expect(contexts[1]?.epoch).not.toBe(first?.epoch);
    expect(contexts[1]?.flavors.map((f) => f.flavorId).sort()).toEqual([...onB].sort());
    expect(events).toEqual([]);
    expect(
      sub
        .flavors()
        .map((f) => f.flavorId)
        .sort(),
    ).toEqual([...onB].sort());
  });

  it('re-snapshots when a hub restarted on a fresh store is behind the position', async () => {
    const a = await startHub();
    cleanup.push(() => a.close());
    const proxy = await startProxy(Number(new URL(a.url).port));
    cleanup.push(() => proxy.close());
    for (let i = 0; i < 3; i++) await client(a.url, P).flavors.publish(k8slice());
    const sub = client(proxy.url, C0).subscribe({ selector: {} });
    const contexts: SubscribedContext[] = [];
    sub.on('subscribed', (c) => contexts.push(c));
    await sub.ready();
    await a.close();
    const b = await startHub();
    cleanup.push(() => b.close());
    const fresh = await client(b.url, P).flavors.publish(k8slice());
    proxy.retarget(Number(new URL(b.url).port));
    await until(() => contexts.length === 2, 'the resume');
    expect(contexts[1]).toMatchObject({ recovered: false, wasRecovering: true });
    expect(sub.flavors().map((f) => f.flavorId)).toEqual([fresh.flavorId]);
  });
});
