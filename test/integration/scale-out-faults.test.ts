/**
 * Faults of a market served by several hub processes on one PostgreSQL (§9): an instance
 * SIGKILLed in the middle of sales, the database restarted under load, the leader killed, a
 * waiter's instance dying in line. Real processes, a real cluster.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { k8slice, makeTokens, request, sleep, WsClient } from '../helpers/hub.js';
import { apiOf, publishOn, spawnHub, type HubProcess } from '../helpers/hub-process.js';
import { withPostgres } from '../helpers/postgres.js';

const pg = withPostgres();
const BUYERS = 60;
const P = 'tok-provider-a';
const C = (i: number) => `tok-consumer-${i}`;

let dirs: string[] = [];
let hubs: HubProcess[] = [];
afterEach(async () => {
  await Promise.all(hubs.map((h) => h.kill('SIGKILL')));
  hubs = [];
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** n hubs on a fresh database, with a TTP of 3 s. */
async function market(n: number): Promise<HubProcess[]> {
  const url = await pg().createDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'rear-faults-'));
  dirs.push(dir);
  const tokens = join(dir, 'tokens.json');
  writeFileSync(tokens, JSON.stringify(makeTokens(BUYERS)));
  const first = await spawnHub({ db: url, tokens, args: ['--ttp', '3'] });
  hubs.push(first);
  const rest = await Promise.all(
    Array.from({ length: n - 1 }, () => spawnHub({ db: url, tokens, args: ['--ttp', '3'] })),
  );
  hubs.push(...rest);
  return [first, ...rest];
}

const api = apiOf;
const publish = publishOn;

const alive = (h: HubProcess) => h.child.exitCode === null && h.child.signalCode === null;

/**
 * Buyers reserve and purchase until every flavor answers 404, each through its instance or,
 * when that one is gone, through the next live one (as a load balancer would). A purchase
 * answered 503 is retried (it replays if it had committed). Returns the acknowledged
 * contracts and every status seen.
 */
async function buyAll(
  all: HubProcess[],
  ids: string[],
  pooled: Set<string>,
): Promise<{ contracts: any[]; statuses: Map<number, number> }> {
  const gone = new Set<string>();
  const contracts: any[] = [];
  const statuses = new Map<number, number>();
  const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
  const pick = (b: number) =>
    all
      .slice(b % all.length)
      .concat(all)
      .find(alive) as HubProcess;
  const call = async (
    b: number,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => {
    for (;;) {
      try {
        const r = await api(pick(b), method, path, C(b), body, headers);
        count(r.status);
        if (r.status !== 503) return r;
      } catch {
        count(0); // the instance died under the request
      }
      await sleep(200);
    }
  };
  const deadline = Date.now() + 60_000;
  await Promise.all(
    Array.from({ length: BUYERS }, async (_, b) => {
      for (let round = 0; gone.size < ids.length && Date.now() < deadline; round++) {
        const left = ids.filter((id) => !gone.has(id));
        const id = left[(b + round * 7) % left.length] as string;
        const r = await call(
          b,
          'POST',
          '/reservations',
          {
            FlavorID: id,
            ...(pooled.has(id)
              ? {
                  Configuration: { type: 'k8slice', data: { cpu: '2', memory: '4Gi', pods: '20' } },
                }
              : {}),
          },
          { prefer: 'wait=1' },
        );
        if (r.status === 404) gone.add(id);
        if (r.status !== 200) continue;
        const p = await call(b, 'POST', `/transactions/${r.body.TransactionID}/purchase`);
        if (p.status === 200) contracts.push(p.body);
      }
    }),
  );
  expect(gone.size).toBe(ids.length);
  return { contracts, statuses };
}

function checkNotOversold(contracts: any[], whole: any[], pooled: any[]): void {
  const n = (id: string) => contracts.filter((c) => c.Flavor.flavorId === id).length;
  for (const f of whole) expect(n(f.flavorId)).toBeLessThanOrEqual(1);
  for (const f of pooled) expect(n(f.flavorId)).toBeLessThanOrEqual(4);
  expect(new Set(contracts.map((c) => c.TransactionID)).size).toBe(contracts.length);
}

describe('faults of a shared market', () => {
  it('an instance SIGKILLed in the middle of sales: the others go on, nothing acknowledged is lost, nothing oversold', async () => {
    const all = await market(3);
    const whole = await Promise.all(
      Array.from({ length: 30 }, (_, i) => publish(all[i % 3] as HubProcess)),
    );
    const pooled = await Promise.all(
      Array.from({ length: 3 }, () =>
        publish(all[0] as HubProcess, k8slice({ cpu: '8', memory: '32Gi' }, {})),
      ),
    );
    const ids = [...whole, ...pooled].map((f) => f.flavorId as string);
    const selling = buyAll(all, ids, new Set(pooled.map((f) => f.flavorId)));
    await sleep(300 + Math.floor(Math.random() * 700));
    await (all[1] as HubProcess).kill('SIGKILL');
    const { contracts, statuses } = await selling;
    expect([...statuses.keys()].filter((s) => ![0, 200, 404, 409, 410, 503].includes(s))).toEqual(
      [],
    );
    checkNotOversold(contracts, whole, pooled);
    // Every acknowledged contract is in the market, read through a survivor.
    const stored = (await api(all[2] as HubProcess, 'GET', '/contracts', P)).body as any[];
    const storedIds = new Set(stored.map((c) => c.ContractID));
    for (const c of contracts) expect(storedIds.has(c.ContractID)).toBe(true);
    checkNotOversold(stored, whole, pooled);
  }, 120_000);

  it('PostgreSQL restarted under load: 503 meanwhile (never 500), the instances recover by themselves, nothing lost', async () => {
    const all = await market(2);
    const whole = await Promise.all(
      Array.from({ length: 40 }, (_, i) => publish(all[i % 2] as HubProcess)),
    );
    const ids = whole.map((f) => f.flavorId as string);
    const sub = await WsClient.open((all[1] as HubProcess).wsUrl, C(0));
    sub.send({ type: 'SUBSCRIBE_FLAVOR', selector: {} });
    await sub.next((m) => m.type === 'SUBSCRIBED');
    const selling = buyAll(all, ids, new Set());
    await sleep(500);
    await pg().restart();
    const { contracts, statuses } = await selling;
    expect(statuses.get(500)).toBeUndefined();
    expect([...statuses.keys()].filter((s) => ![200, 404, 409, 410, 503].includes(s))).toEqual([]);
    checkNotOversold(contracts, whole, []);
    for (const h of all) {
      await expect
        .poll(async () => (await request(h.url, 'GET', '/healthz')).status, { timeout: 15_000 })
        .toBe(200);
    }
    const stored = (await api(all[0] as HubProcess, 'GET', '/contracts', P)).body as any[];
    const storedIds = new Set(stored.map((c) => c.ContractID));
    for (const c of contracts) expect(storedIds.has(c.ContractID)).toBe(true);
    // The subscriber on B heard every sale, in order, across the restart.
    await expect
      .poll(() => sub.messages.filter((m) => m.type === 'WITHDRAW_FLAVOR').length, {
        timeout: 10_000,
      })
      .toBeGreaterThanOrEqual(contracts.length);
    const seqs = sub.messages.filter((m) => m.type !== 'SUBSCRIBED').map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    // And the market works again on both.
    const f = await publish(all[0] as HubProcess);
    const r = await api(all[1] as HubProcess, 'POST', '/reservations', C(1), {
      FlavorID: f.flavorId,
    });
    expect(r.status).toBe(200);
    expect(
      (
        await api(
          all[0] as HubProcess,
          'POST',
          `/transactions/${r.body.TransactionID}/purchase`,
          C(1),
        )
      ).status,
    ).toBe(200);
    sub.close();
  }, 120_000);

  it('while PostgreSQL is down: /healthz and the API answer 503 with Retry-After, never a wrong answer', async () => {
    const [a] = (await market(1)) as [HubProcess];
    const f = await publish(a);
    await pg().shutdown('fast');
    try {
      await expect
        .poll(async () => (await request(a.url, 'GET', '/healthz')).status, { timeout: 10_000 })
        .toBe(503);
      expect((await request(a.url, 'GET', '/healthz')).body).toEqual({ status: 'unavailable' });
      for (const [method, path] of [
        ['GET', '/flavors'],
        ['GET', `/flavors/${f.flavorId}`],
        ['POST', '/reservations'],
      ] as const) {
        const r = await api(
          a,
          method,
          path,
          C(0),
          method === 'POST' ? { FlavorID: f.flavorId } : undefined,
        );
        expect(r.status).toBe(503);
        expect(r.body.code).toBe('UNAVAILABLE');
        expect(r.headers.get('retry-after')).toBe('1');
      }
    } finally {
      await pg().start();
    }
    await expect
      .poll(async () => (await request(a.url, 'GET', '/healthz')).body, { timeout: 15_000 })
      .toEqual({ status: 'ok', store: 'postgres' });
    expect((await api(a, 'POST', '/reservations', C(0), { FlavorID: f.flavorId })).status).toBe(
      200,
    );
  }, 120_000);

  it('the leader SIGKILLed: another takes over within seconds and the scheduler goes on', async () => {
    const all = await market(3);
    await expect.poll(() => all.filter((h) => /"msg":"leading"/.test(h.output())).length).toBe(1);
    const leader = all.find((h) => /"msg":"leading"/.test(h.output())) as HubProcess;
    const others = all.filter((h) => h !== leader);
    const f = await publish(
      others[0] as HubProcess,
      { ...k8slice(), ttlSeconds: 2, autoRenew: false } as any,
    );
    const killedAt = Date.now();
    await leader.kill('SIGKILL');
    await expect
      .poll(() => others.filter((h) => /"msg":"leading"/.test(h.output())).length, {
        timeout: 10_000,
        interval: 50,
      })
      .toBe(1);
    const failoverMs = Date.now() - killedAt;
    expect(failoverMs).toBeLessThan(10_000);
    // The new leader retracts what expired.
    await expect
      .poll(
        async () =>
          (await api(others[1] as HubProcess, 'GET', `/flavors/${f.flavorId}`, C(0))).status,
        { timeout: 10_000 },
      )
      .toBe(404);
  }, 120_000);

  it('a waiter whose instance dies leaves the line: the next waiter gets the hold', async () => {
    const [a, b, c] = (await market(3)) as [HubProcess, HubProcess, HubProcess];
    const f = await publish(a);
    const x = await api(a, 'POST', '/reservations', C(1), { FlavorID: f.flavorId });
    expect(x.status).toBe(200);
    const y = api(
      b,
      'POST',
      '/reservations',
      C(2),
      { FlavorID: f.flavorId },
      { prefer: 'wait=30' },
    ).catch(() => undefined);
    await sleep(300);
    const z = api(
      c,
      'POST',
      '/reservations',
      C(3),
      { FlavorID: f.flavorId },
      { prefer: 'wait=30' },
    );
    await sleep(300);
    await b.kill('SIGKILL');
    await y;
    // The leader notices the dead instance's connection and takes its waiter out of the line.
    await sleep(1_500);
    const cancelledAt = Date.now();
    expect((await api(a, 'DELETE', `/transactions/${x.body.TransactionID}`, C(1))).status).toBe(
      204,
    );
    const zr = await z;
    expect(zr.status).toBe(200);
    expect(zr.body.Buyer.NodeID).toBe('cons-3');
    // Granted at the cancel (its TTP of 3 s counts from then), not after a hold given to the
    // dead waiter had run out its own 3 s.
    expect(Date.parse(zr.body.ExpirationTime) - cancelledAt).toBeLessThan(4_500);
  }, 120_000);
});
