/**
 * Three hub processes on one PostgreSQL database are one market (§9): real processes, real
 * HTTP and WebSocket clients, a throwaway cluster.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, createLocalJWKSet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k8slice, makeTokens, request, sleep, WsClient } from '../helpers/hub.js';
import { apiOf, publishOn, spawnHub, type HubProcess } from '../helpers/hub-process.js';
import { withPostgres } from '../helpers/postgres.js';

const pg = withPostgres();
const BUYERS = 100;
const P = 'tok-provider-a';
const C = (i: number) => `tok-consumer-${i}`;

let dir: string;
let hubs: HubProcess[] = [];
let A: HubProcess;
let B: HubProcess;
let Cc: HubProcess;

beforeAll(async () => {
  const url = await pg().createDatabase();
  dir = mkdtempSync(join(tmpdir(), 'rear-scale-'));
  const tokens = join(dir, 'tokens.json');
  writeFileSync(tokens, JSON.stringify(makeTokens(BUYERS)));
  // One first, so the schema is made once; then the other two at once.
  hubs = [await spawnHub({ db: url, tokens, args: ['--ttp', '3'] })];
  hubs.push(
    ...(await Promise.all([0, 1].map(() => spawnHub({ db: url, tokens, args: ['--ttp', '3'] })))),
  );
  [A, B, Cc] = hubs as [HubProcess, HubProcess, HubProcess];
}, 90_000);

afterAll(async () => {
  await Promise.all(hubs.map((h) => h.kill('SIGTERM')));
  rmSync(dir, { recursive: true, force: true });
});

const api = apiOf;
const publish = publishOn;

/**
 * Waits until h has the flavor in its catalog copy. The instance a change went through answers
 * once its own copy has it; another has it within its feed's wake-up (one NOTIFY round trip, a
 * second at worst), not necessarily by then.
 */
async function seenOn(h: HubProcess, flavorId: string): Promise<void> {
  await expect
    .poll(async () => (await api(h, 'GET', `/flavors/${flavorId}`, C(0))).status, {
      timeout: 3000,
      interval: 20,
    })
    .toBe(200);
}

describe('several instances, one market', () => {
  it('100 buyers over 3 instances sell exactly the capacity of 20 whole and 5 partitionable flavors', async () => {
    const whole = await Promise.all(
      Array.from({ length: 20 }, (_, i) => publish(hubs[i % 3] as HubProcess)),
    );
    const pooled = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        publish(hubs[i % 3] as HubProcess, k8slice({ cpu: '8', memory: '32Gi' }, {})),
      ),
    );
    const partition = { type: 'k8slice', data: { cpu: '2', memory: '4Gi', pods: '20' } };
    const ids = [...whole, ...pooled].map((f) => f.flavorId as string);
    const isPooled = new Set(pooled.map((f) => f.flavorId as string));
    const gone = new Set<string>();
    const contracts: any[] = [];
    const statuses = new Map<number, number>();
    const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);

    await Promise.all(
      Array.from({ length: BUYERS }, async (_, b) => {
        const h = hubs[b % 3] as HubProcess;
        for (let round = 0; round < 200 && gone.size < ids.length; round++) {
          const left = ids.filter((id) => !gone.has(id));
          const id = left[(b + round * 7) % left.length] as string;
          const r = await api(
            h,
            'POST',
            '/reservations',
            C(b),
            {
              FlavorID: id,
              ...(isPooled.has(id) ? { Configuration: partition } : {}),
            },
            { prefer: 'wait=1' },
          );
          count(r.status);
          if (r.status === 404) gone.add(id);
          if (r.status !== 200) continue;
          const p = await api(h, 'POST', `/transactions/${r.body.TransactionID}/purchase`, C(b));
          count(p.status);
          if (p.status === 200) contracts.push(p.body);
        }
      }),
    );
    // Every answer is one the contract names: never a 5xx.
    expect([...statuses.keys()].filter((s) => ![200, 404, 409, 410].includes(s))).toEqual([]);
    expect(gone.size).toBe(ids.length);

    const byFlavor = new Map<string, any[]>();
    for (const c of contracts) {
      const list = byFlavor.get(c.Flavor.flavorId) ?? [];
      list.push(c);
      byFlavor.set(c.Flavor.flavorId, list);
    }
    for (const f of whole) expect(byFlavor.get(f.flavorId)).toHaveLength(1);
    // 8 CPUs in partitions of 2: exactly four sales each, whoever sold them.
    for (const f of pooled) expect(byFlavor.get(f.flavorId)).toHaveLength(4);
    expect(new Set(contracts.map((c) => c.TransactionID)).size).toBe(contracts.length);
    // What the market stored is exactly what was acknowledged, on every instance.
    for (const h of hubs) {
      const stored = (await api(h, 'GET', '/contracts', P)).body as any[];
      const mine = stored.filter((c) => ids.includes(c.Flavor.flavorId));
      expect(mine.map((c) => c.ContractID).sort()).toEqual(
        contracts.map((c) => c.ContractID).sort(),
      );
    }
  }, 60_000);

  it('a hold on A that runs out goes to the oldest waiter on B, then to the next on C', async () => {
    const f = await publish(A);
    const x = await api(A, 'POST', '/reservations', C(10), { FlavorID: f.flavorId });
    expect(x.status).toBe(200);
    const order: string[] = [];
    const y = api(
      B,
      'POST',
      '/reservations',
      C(11),
      { FlavorID: f.flavorId },
      { prefer: 'wait=20' },
    ).then((r) => (order.push('B'), r));
    await sleep(300);
    const z = api(
      Cc,
      'POST',
      '/reservations',
      C(12),
      { FlavorID: f.flavorId },
      { prefer: 'wait=20' },
    ).then((r) => (order.push('C'), r));
    const yr = await y;
    expect(yr.status).toBe(200);
    expect(yr.body.Buyer.NodeID).toBe('cons-11');
    expect(order).toEqual(['B']);
    // The first hold ended exactly once, as expired, whichever instance reads it.
    expect((await api(Cc, 'GET', `/transactions/${x.body.TransactionID}`, C(10))).body.Status).toBe(
      'expired',
    );
    const zr = await z;
    expect(zr.status).toBe(200);
    expect(zr.body.Buyer.NodeID).toBe('cons-12');
    expect(order).toEqual(['B', 'C']);
    expect(Date.parse(zr.body.ExpirationTime)).toBeGreaterThan(Date.parse(yr.body.ExpirationTime));
  }, 60_000);

  it('a purchase made on A and retried on B answers the same contract, replayed', async () => {
    const f = await publish(Cc);
    const r = await api(A, 'POST', '/reservations', C(20), { FlavorID: f.flavorId });
    const first = await api(A, 'POST', `/transactions/${r.body.TransactionID}/purchase`, C(20));
    expect(first.status).toBe(200);
    const again = await api(B, 'POST', `/transactions/${r.body.TransactionID}/purchase`, C(20));
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
    expect((await api(Cc, 'GET', `/contracts/${first.body.ContractID}`, C(20))).text).toBe(
      first.text,
    );
  }, 60_000);

  it('every instance signs with the one key set of the market; a FLUIDOS-dialect hold is answered in it everywhere', async () => {
    const sets = await Promise.all(hubs.map(async (h) => (await api(h, 'GET', '/keys')).body));
    expect(sets[1]).toEqual(sets[0]);
    expect(sets[2]).toEqual(sets[0]);
    const f = await publish(A);
    // Reserved on B in the node's dialect, bought on C, replayed on A: every answer in it.
    const r = await api(B, 'POST', '/reservations', C(60), {
      flavorID: f.flavorId,
      buyerID: { ID: 'cons-60', IP: '10.1.0.60', domain: 'c60.test' },
    });
    expect(r.status).toBe(200);
    expect(r.body.transactionID).toMatch(/^tx-/);
    expect(
      (await api(A, 'GET', `/transactions/${r.body.transactionID}`, C(60))).body.transactionID,
    ).toBe(r.body.transactionID);
    const bought = await api(
      Cc,
      'POST',
      `/transactions/${r.body.transactionID}/purchase`,
      C(60),
      {},
    );
    expect(bought.status).toBe(200);
    expect(bought.body.contractID).toMatch(/^ct-/);
    const replay = await api(
      A,
      'POST',
      `/transactions/${r.body.transactionID}/purchase`,
      C(60),
      {},
    );
    expect(replay.text).toBe(bought.text);
    // The contract as stored (REAR's spelling) verifies against the set every instance publishes.
    const stored = await api(B, 'GET', `/contracts/${bought.body.contractID}`, C(60));
    const { Signature, ...rest } = stored.body;
    const { payload } = await compactVerify(Signature, createLocalJWKSet(sets[0]));
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual(rest);
  }, 60_000);

  it('a bulk publish on A is all or nothing, and all of it is on B', async () => {
    const bad = await api(A, 'POST', '/flavors', P, [
      k8slice(),
      { ...k8slice(), price: { amount: 'x' } },
    ]);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('1');
    const ok = await api(A, 'POST', '/flavors', P, [k8slice(), k8slice(), k8slice()]);
    expect(ok.status).toBe(201);
    expect(ok.body).toHaveLength(3);
    // On A, the instance that answered the publish, each is there at once (read your writes).
    for (const f of ok.body)
      expect((await api(A, 'GET', `/flavors/${f.flavorId}`, C(0))).status).toBe(200);
    // B reads its catalog copy, which its feed brings up to date within moments
    // (docs/scale-out.md).
    for (const f of ok.body) {
      let status = 0;
      for (const end = Date.now() + 10_000; status !== 200 && Date.now() < end; await sleep(50))
        status = (await api(B, 'GET', `/flavors/${f.flavorId}`, C(0))).status;
      expect(status).toBe(200);
    }
    // The store's commits are measured on PostgreSQL too.
    const metrics = await request(A.url, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/rear_store_commit_duration_seconds_count [1-9]/);
  }, 60_000);

  it('a refresh then a withdrawal on C reach subscribers on A and B in order, with the same seqs', async () => {
    const f = await publish(A);
    await seenOn(B, f.flavorId);
    const subs = await Promise.all([A, B].map((h) => WsClient.open(h.wsUrl, C(30))));
    for (const s of subs) {
      s.send({ type: 'SUBSCRIBE_FLAVOR', flavorId: f.flavorId });
      await s.next((m) => m.type === 'SUBSCRIBED');
    }
    expect(
      (
        await api(Cc, 'POST', `/flavors/${f.flavorId}/refresh`, P, {
          price: { amount: '2.00', currency: 'EUR', period: 'hour' },
        })
      ).status,
    ).toBe(200);
    expect(
      (await api(Cc, 'POST', `/flavors/${f.flavorId}/withdraw`, P, { Reason: { Message: 'bye' } }))
        .status,
    ).toBe(200);
    const seen = [];
    for (const s of subs) {
      await s.next((m) => m.type === 'WITHDRAW_FLAVOR');
      seen.push(
        s.messages
          .filter((m) => m.seq !== undefined && m.type !== 'SUBSCRIBED')
          .map((m) => [m.type, m.seq]),
      );
      s.close();
    }
    expect(seen[0]?.map(([t]) => t)).toEqual(['REFRESH_FLAVOR', 'WITHDRAW_FLAVOR']);
    expect(seen[1]).toEqual(seen[0]);
  }, 60_000);

  it('sales through A and B at once reach subscribers on A, B and C as one stream: the same seqs, each once, in order', async () => {
    // Each instance applies the events it committed itself from memory and reads the others':
    // every subscriber must still hear one and the same stream. The selector matches a flavor
    // only before its first sale (cpu ≥ 7 of 8), so hearing that sale's refresh takes the
    // facts of the flavor before it, which each instance has from its catalog copy.
    const flavors = await Promise.all(
      [A, B, A, B].map((h) => publish(h, k8slice({ cpu: '8', memory: '32Gi' }, {}))),
    );
    const ids = flavors.map((f) => f.flavorId as string);
    // Every copy holds every flavor before anyone subscribes: an instance that had not yet read
    // another's publish would tell its subscriber of it as an addition, in no other stream.
    for (const h of [A, B, Cc]) for (const id of ids) await seenOn(h, id);
    const selector = { type: 'k8slice', filter: { cpu: { range: { min: '7' } } } };
    const subs = await Promise.all([A, B, Cc].map((h) => WsClient.open(h.wsUrl, C(60))));
    for (const s of subs) {
      s.send({ type: 'SUBSCRIBE_FLAVOR', selector });
      await s.next((m) => m.type === 'SUBSCRIBED');
    }
    const partition = { type: 'k8slice', data: { cpu: '2', memory: '4Gi', pods: '20' } };
    const gone = new Set<string>();
    let sold = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, b) => {
        const h = b % 2 === 0 ? A : B;
        for (let round = 0; round < 100 && gone.size < ids.length; round++) {
          const id = ids[(b + round) % ids.length] as string;
          if (gone.has(id)) continue;
          const r = await api(
            h,
            'POST',
            '/reservations',
            C(61 + b),
            { FlavorID: id, Configuration: partition },
            { prefer: 'wait=1' },
          );
          if (r.status === 404) gone.add(id);
          if (r.status !== 200) continue;
          const p = await api(
            h,
            'POST',
            `/transactions/${r.body.TransactionID}/purchase`,
            C(61 + b),
          );
          if (p.status === 200) sold++;
        }
      }),
    );
    expect(sold).toBe(16);
    // Committed after every sale was answered: once a subscriber hears it, it heard them all.
    const marker = await publish(Cc, k8slice({ cpu: '8' }));
    const streams = [];
    for (const s of subs) {
      await s.next((m) => m.type === 'FLAVOR_ADDED' && m.flavorId === marker.flavorId);
      streams.push(
        s.messages
          .filter((m) => m.type !== 'SUBSCRIBED' && [...ids, marker.flavorId].includes(m.flavorId))
          .map((m) => [m.type, m.seq, m.flavorId]),
      );
      s.close();
    }
    const seqs = (streams[0] ?? []).map(([, seq]) => seq as number);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    // Each flavor's first sale (8 → 6 CPUs, matched through the flavor before it), then the marker.
    expect((streams[0] ?? []).map(([type]) => type)).toEqual([
      ...ids.map(() => 'REFRESH_FLAVOR'),
      'FLAVOR_ADDED',
    ]);
    expect(streams[1]).toEqual(streams[0]);
    expect(streams[2]).toEqual(streams[0]);
    // Every catalog copy ends the same: the flavors sold out everywhere, the marker everywhere.
    for (const h of hubs) {
      for (const id of ids) expect((await api(h, 'GET', `/flavors/${id}`, C(60))).status).toBe(404);
      const m = await api(h, 'GET', `/flavors/${marker.flavorId}`, C(60));
      expect(m.body).toEqual(marker);
    }
  }, 60_000);

  it('a client cut off from A resumes on B with since and epoch: no gap, no duplicate', async () => {
    const a = await WsClient.open(A.wsUrl, C(40));
    a.send({
      type: 'SUBSCRIBE_FLAVOR',
      selector: { type: 'k8slice', filter: { cpu: { range: { min: '3' } } } },
    });
    const sub = await a.next((m) => m.type === 'SUBSCRIBED');
    const before = await Promise.all([1, 2, 3].map(() => publish(Cc)));
    for (const f of before)
      await a.next((m) => m.type === 'FLAVOR_ADDED' && m.flavorId === f.flavorId);
    const last = Math.max(
      ...a.messages.filter((m) => m.seq !== undefined && m.type !== 'SUBSCRIBED').map((m) => m.seq),
    );
    a.close();
    const missed = await Promise.all([1, 2, 3].map(() => publish(Cc)));
    await api(Cc, 'POST', `/flavors/${before[0].flavorId}/refresh`, P, {});
    const b = await WsClient.open(B.wsUrl, C(40));
    b.send({
      type: 'SUBSCRIBE_FLAVOR',
      selector: { type: 'k8slice', filter: { cpu: { range: { min: '3' } } } },
      since: last,
      epoch: sub.epoch,
    });
    const resumed = await b.next((m) => m.type === 'SUBSCRIBED');
    expect(resumed.recovered).toBe(true);
    expect(resumed.epoch).toBe(sub.epoch);
    for (const f of missed)
      await b.next((m) => m.type === 'FLAVOR_ADDED' && m.flavorId === f.flavorId);
    await b.next((m) => m.type === 'REFRESH_FLAVOR' && m.flavorId === before[0].flavorId);
    const live = await publish(A);
    await b.next((m) => m.type === 'FLAVOR_ADDED' && m.flavorId === live.flavorId);
    const seqs = b.messages.filter((m) => m.type !== 'SUBSCRIBED').map((m) => m.seq);
    // Strictly growing (no duplicate, in order); everything this selector was owed is there.
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs[0]).toBeGreaterThan(last);
    const ours = b.messages.filter((m) => m.type === 'FLAVOR_ADDED').map((m) => m.flavorId);
    expect(ours).toEqual(expect.arrayContaining([...missed, live].map((f) => f.flavorId)));
    b.close();
  }, 60_000);

  it('with three instances up, the scheduler renews each flavor once per period', async () => {
    const sub = await WsClient.open(B.wsUrl, C(50));
    const flavors = await Promise.all(
      Array.from({ length: 6 }, () =>
        publish(A, { ...k8slice(), ttlSeconds: 2, autoRenew: true } as any),
      ),
    );
    const ids = new Set(flavors.map((f) => f.flavorId));
    sub.send({ type: 'SUBSCRIBE_FLAVOR', selector: {} });
    await sleep(5_000);
    const renewals = new Map<string, number[]>();
    for (const m of sub.messages) {
      if (m.type !== 'REFRESH_FLAVOR' || !ids.has(m.flavorId)) continue;
      renewals.set(m.flavorId, [...(renewals.get(m.flavorId) ?? []), Date.parse(m.at)]);
    }
    for (const id of ids) {
      const at = renewals.get(id) ?? [];
      // A TTL of 2 s renews 0.4 s before expiry: every 1.6 s; a second instance renewing the
      // same flavor would show as two renewals close together.
      expect(at.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < at.length; i++)
        expect((at[i] as number) - (at[i - 1] as number)).toBeGreaterThan(1_000);
    }
    sub.close();
    // Only one instance leads the sweeps.
    const leading = hubs.filter((h) => /"msg":"leading"/.test(h.output()));
    expect(leading).toHaveLength(1);
  }, 60_000);
});
