/**
 * The scale-out benchmarks (issue 12): hubs on one PostgreSQL, each a process of its own, on a
 * throwaway cluster (scripts/lib/pg-cluster.ts, fsync and synchronous_commit on) started once
 * for the run and stopped at its end, also on failure. Every figure is a ratio against a
 * baseline measured in the same run, interleaved, medians of rounds (run.ts says why).
 *
 * - P1 pg: LIST from a PostgreSQL-backed hub's catalog copy vs the same on SQLite.
 * - P9: reserve + purchase on PostgreSQL, one instance and two (the load split over both),
 *   against a floor that runs the same SQL through `pg` with none of the hub's work
 *   (servers/pg-floor.ts), and against a SQLite hub under the same load. Each round of each
 *   PostgreSQL configuration runs on a fresh database. The last round also measures how far
 *   behind each instance's catalog copy runs while one of them sells (P9 lag).
 * - P10: a refresh committed on A → its 2,000 subscribers on B, at 10 refreshes/s, against
 *   the same subscribers on A.
 * - P11: leader failover: three `rear-hub serve` processes; SIGKILL the one that logged
 *   `leading`; the time until another logs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { findPgBinDir, startPostgres, type PgCluster } from '../lib/pg-cluster.js';
import { answered } from './lib/answered.js';
import { Histogram, median, stampMs } from './lib/histogram.js';
import { machineCpu, postgresCpuUs, processCpuUs, spawnProc, type Proc } from './lib/proc.js';
import { saleLoad } from './lib/sales.js';

/** One line of the results table (run.ts prints and stores them). */
export interface Row {
  id: string;
  what: string;
  hub: number;
  baseline: number | undefined;
  ratio: number | undefined;
  unit: string;
  target: string;
  /** Undefined for a reference row that has no target of its own. */
  met: boolean | undefined;
  note?: string;
}

type Fire = (stamp: string) => Promise<void>;

/** One latency run's per-delivery figures, ms (run.ts's latencyRun). */
export interface LatencyResult {
  p50: number;
  p99: number;
  /** The worst thousandth: what a stall once a ping interval reaches. */
  p999: number;
  lastP99: number;
  deliveries: number;
  events: number;
}

/** What run.ts lends these steps. */
export interface Kit {
  quick: boolean;
  rows: Row[];
  log: (...a: unknown[]) => void;
  consumers: number;
  consumerToken: (i: number) => string;
  startHub: (opts: Record<string, unknown>) => Promise<{ proc: Proc; url: string }>;
  startSubscribers: (opts: Record<string, unknown>, n: number, procs: number) => Promise<Proc[]>;
  hubFire: (url: string, flavorId: string) => Fire;
  latencyRun: (groups: Proc[], fire: Fire, rate: number, seconds: number) => Promise<LatencyResult>;
  listRps: (
    url: string,
    connections: number,
    duration: number,
    seed: number,
  ) => Promise<{ rps: number; total: number }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Connections to PostgreSQL: the floor's pool and one instance's are the hub's default; two
 * instances get half each (--pg-pool), so the database serves as many connections as under
 * the floor. Two pools of 10 ran 20 busy backends on this machine's 2 cores.
 */
const FLOOR_POOL = 10;
const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

// ---------------------------------------------------------------------------------------
// The cluster: started at the first step that needs it, stopped by stopPostgres().

let cluster: PgCluster | undefined;
let absent: string | undefined;

async function postgres(): Promise<PgCluster | undefined> {
  if (cluster || absent) return cluster;
  try {
    findPgBinDir();
  } catch (err) {
    absent = (err as Error).message;
    return undefined;
  }
  cluster = await startPostgres({ settings: { shared_buffers: '256MB' } });
  return cluster;
}

export async function stopPostgres(): Promise<void> {
  const c = cluster;
  cluster = undefined;
  await c?.stop();
}

function skipped(kit: Kit, id: string, what: string): void {
  kit.log(`${id}: skipped: no PostgreSQL (${absent ?? ''})`);
  kit.rows.push({
    id,
    what: `${what} — skipped: no PostgreSQL (${absent ?? 'not found'})`,
    hub: NaN,
    baseline: undefined,
    ratio: undefined,
    unit: '—',
    target: '—',
    met: undefined,
  });
}

const dbName = (url: string) => new URL(url).pathname.slice(1);

/** A load, with the CPU per request of the servers, of PostgreSQL and of the whole machine. */
async function measured(
  c: PgCluster | undefined,
  servers: Proc[],
  go: () => Promise<{ rps: number; total: number }>,
): Promise<{ rps: number; serverUs: number; pgUs: number; machineUs: number }> {
  const [s0, p0, m0] = [
    await processCpuUs(servers),
    c ? postgresCpuUs(c.dataDir) : 0,
    machineCpu(),
  ];
  const r = await go();
  const [s1, p1, m1] = [
    await processCpuUs(servers),
    c ? postgresCpuUs(c.dataDir) : 0,
    machineCpu(),
  ];
  const n = Math.max(1, r.total);
  return {
    rps: r.rps,
    serverUs: (s1 - s0) / n,
    pgUs: (p1 - p0) / n,
    machineUs: (m1.busyUs - m0.busyUs) / n,
  };
}

// ---------------------------------------------------------------------------------------

export async function p1pg(kit: Kit, listN: number, rounds: number, dur: number): Promise<void> {
  const what = `LIST k8slices, random selector, ${listN} flavors, PostgreSQL-backed hub vs SQLite-backed hub`;
  const c = await postgres();
  if (!c) return skipped(kit, 'P1 pg', what);
  kit.log(`P1 pg: ${what}`);
  const url = await c.createDatabase();
  // Only reads are measured: seeding need not wait for fsync (set before the hub connects).
  await runSql(c, `ALTER DATABASE ${dbName(url)} SET synchronous_commit = off`);
  const [pgHub, sqlHub] = await Promise.all([
    kit.startHub({ seed: 'list', n: listN, pg: url }),
    kit.startHub({ seed: 'list', n: listN }),
  ]);
  if (!kit.quick) {
    await kit.listRps(pgHub.url, 10, 1, 1);
    await kit.listRps(sqlHub.url, 10, 1, 1);
  }
  const p: number[] = [];
  const s: number[] = [];
  const pUs: number[] = [];
  const sUs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const pr = await measured(undefined, [pgHub.proc], () =>
      kit.listRps(pgHub.url, 10, dur, 100 + i),
    );
    const sr = await measured(undefined, [sqlHub.proc], () =>
      kit.listRps(sqlHub.url, 10, dur, 100 + i),
    );
    p.push(pr.rps);
    s.push(sr.rps);
    pUs.push(pr.serverUs);
    sUs.push(sr.serverUs);
  }
  await Promise.all([pgHub.proc.kill(), sqlHub.proc.kill()]);
  await c.dropDatabase(dbName(url));
  const pm = median(p);
  const sm = median(s);
  kit.rows.push({
    id: 'P1 pg',
    what: `${what} (same flavors, same selectors, ${rounds} interleaved rounds of ${dur} s)`,
    hub: pm,
    baseline: sm,
    ratio: pm / sm,
    unit: 'req/s',
    target: '≥ 0.9× SQLite',
    met: pm / sm >= 0.9,
    note: `server CPU per request: PostgreSQL-backed ${Math.round(median(pUs))} µs, SQLite-backed ${Math.round(median(sUs))} µs`,
  });
}

/** One statement on the cluster's maintenance database. */
async function runSql(c: PgCluster, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: c.urlFor('postgres') });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------

interface P9Sizes {
  rounds: number;
  dur: number;
  flavors: number;
  warm: number;
  lagDur: number;
}

export async function p9(kit: Kit, z: P9Sizes): Promise<void> {
  const what = 'reserve + purchase on PostgreSQL';
  const c = await postgres();
  if (!c) return skipped(kit, 'P9', what);
  kit.log(`P9: ${what} (synchronous_commit on), 64 connections over ${z.flavors} flavors`);
  const tokens = Array.from({ length: kit.consumers }, (_, i) => kit.consumerToken(i));
  // Every load, the warm-ups and the lag's included, fails the bench on a failed request
  // (lib/answered.ts): the floor's failures counted as answers once made its rate.
  const sales = async (
    url: string,
    ids: string[],
    seed: number,
    seconds: number,
    connections = 64,
  ) =>
    answered(
      await saleLoad({ url, flavorIds: ids, tokens, seed, seconds, connections }),
      `P9 sales on ${url}`,
    );
  const result = (r: Awaited<ReturnType<typeof sales>>) => ({
    rps: r.requests.average,
    total: r.requests.total,
  });
  // The SQLite hub under the same load, in the same rounds (started while the first round's
  // database is made).
  const sqliteStarting = kit.startHub({ seed: 'pool', n: z.flavors, file: true });
  const floorProc = spawnProc('servers/pg-floor.ts', [JSON.stringify({ poolSize: FLOOR_POOL })]);
  const floorReady = floorProc.once<{ url: string }>('ready');
  const firstDb = c.createDatabase();
  const sqlite = await sqliteStarting;
  const floor = { proc: floorProc, url: (await floorReady).url };
  const { ids: sqliteIds } = await sqlite.proc.ask<{ ids: string[] }>({ type: 'ids' });
  if (z.warm) await sales(sqlite.url, sqliteIds, 1, z.warm);

  type M = Awaited<ReturnType<typeof measured>>;
  const one: M[] = [];
  const two: M[] = [];
  const flo: M[] = [];
  const lite: M[] = [];
  const noFlush: M[] = [];
  const signedFloor: M[] = [];
  let lag: Awaited<ReturnType<typeof copyLag>> | undefined;
  try {
    for (let i = 0; i < z.rounds; i++) {
      // One instance, on a fresh database.
      const db1 = i === 0 ? await firstDb : await c.createDatabase();
      const a = await kit.startHub({ seed: 'pool', n: z.flavors, pg: db1 });
      const { ids } = await a.proc.ask<{ ids: string[] }>({ type: 'ids' });
      // Warm-up, which also makes the sale whose rows the floor copies.
      await sales(a.url, ids, 1, Math.max(1, z.warm));
      one.push(
        await measured(c, [a.proc], async () => {
          return result(await sales(a.url, ids, 10 + i, z.dur));
        }),
      );
      await a.proc.kill();

      // The floor, on a fresh database holding this round's flavors: the load names the ids
      // this round's hub made.
      const dbf = await c.createDatabase();
      await use(floor.proc, dbf, db1);
      await c.dropDatabase(dbName(db1));
      const f = floor;
      if (z.warm) await sales(f.url, ids, 1, z.warm);
      flo.push(
        await measured(c, [f.proc], async () => result(await sales(f.url, ids, 10 + i, z.dur))),
      );
      if (!kit.quick) {
        // The same floor with COMMIT not waiting for the WAL flush: what the flush costs.
        const dbn = await c.createDatabase();
        await runSql(c, `ALTER DATABASE ${dbName(dbn)} SET synchronous_commit = off`);
        await use(floor.proc, dbn);
        await sales(f.url, ids, 1, 1);
        noFlush.push(
          await measured(c, [f.proc], async () => result(await sales(f.url, ids, 10 + i, z.dur))),
        );
        await c.dropDatabase(dbName(dbn));
        // The same floor signing each contract as P2's floor does: a reference beside P9.
        const dbs = await c.createDatabase();
        await use(floor.proc, dbs, undefined, true);
        await sales(f.url, ids, 1, 1);
        signedFloor.push(
          await measured(c, [f.proc], async () => result(await sales(f.url, ids, 10 + i, z.dur))),
        );
        await c.dropDatabase(dbName(dbs));
      }
      await c.dropDatabase(dbName(dbf));

      // Two instances on a fresh database, the buyers split over both.
      const db2 = await c.createDatabase();
      // B's copy catches up from the event table whatever A has published when it starts.
      const [a2, b2] = await Promise.all([
        kit.startHub({ seed: 'pool', n: z.flavors, pg: db2, pgPool: FLOOR_POOL / 2 }),
        kit.startHub({ seed: 'pool', n: 0, pg: db2, pgPool: FLOOR_POOL / 2 }),
      ]);
      const { ids: ids2 } = await a2.proc.ask<{ ids: string[] }>({ type: 'ids' });
      await caughtUp(a2.proc, b2.proc);
      if (z.warm)
        await Promise.all([sales(a2.url, ids2, 1, z.warm, 32), sales(b2.url, ids2, 2, z.warm, 32)]);
      two.push(
        await measured(c, [a2.proc, b2.proc], async () => {
          const [ra, rb] = (
            await Promise.all([
              sales(a2.url, ids2, 10 + i, z.dur, 32),
              sales(b2.url, ids2, 50 + i, z.dur, 32),
            ])
          ).map(result) as [ReturnType<typeof result>, ReturnType<typeof result>];
          return { rps: ra.rps + rb.rps, total: ra.total + rb.total };
        }),
      );
      if (i === z.rounds - 1) lag = await copyLag(kit, a2, b2, ids2, sales, z.lagDur);
      await Promise.all([a2.proc.kill(), b2.proc.kill()]);
      await c.dropDatabase(dbName(db2));

      // The SQLite hub.
      lite.push(
        await measured(undefined, [sqlite.proc], async () =>
          result(await sales(sqlite.url, sqliteIds, 10 + i, z.dur)),
        ),
      );
    }
  } finally {
    await Promise.all([sqlite.proc.kill(), floor.proc.kill()]);
  }

  const med = (xs: M[], k: keyof M) => median(xs.map((x) => x[k]));
  const h1 = med(one, 'rps');
  const h2 = med(two, 'rps');
  const fl = med(flo, 'rps');
  const sq = med(lite, 'rps');
  const cpu = (xs: M[]) =>
    `hub process(es) ${Math.round(med(xs, 'serverUs'))} µs, PostgreSQL ${Math.round(med(xs, 'pgUs'))} µs, the whole machine ${Math.round(med(xs, 'machineUs'))} µs`;
  const rounds = `${z.rounds} interleaved round(s) of ${z.dur} s, each PostgreSQL configuration on a fresh database`;
  kit.rows.push({
    id: 'P9',
    what: `reserve + purchase, one instance on PostgreSQL (fsync, synchronous_commit on), 64 connections over ${z.flavors} flavors: ${Math.round(h1 / 2)} sales/s, against the floor (the same SQL per request through \`pg\`, same pool size, nothing else: ${Math.round(fl / 2)} sales/s)`,
    hub: h1,
    baseline: fl,
    ratio: h1 / fl,
    unit: 'req/s',
    target: 'reference',
    met: undefined,
    note: `CPU per request: ${cpu(one)}; the floor's: ${cpu(flo)}; ${rounds}`,
  });
  kit.rows.push({
    id: 'P9 two',
    what: `the same load split over two instances on one database (32 connections each, \`--pg-pool ${FLOOR_POOL / 2}\` each: as many database connections as the floor's ${FLOOR_POOL}): ${Math.round(h2 / 2)} sales/s, against the floor`,
    hub: h2,
    baseline: fl,
    ratio: h2 / fl,
    unit: 'req/s',
    target: 'reference',
    met: undefined,
    note: `CPU per request: ${cpu(two)}; two / one instance: ${(h2 / h1).toFixed(2)}×`,
  });
  if (noFlush.length) {
    const nf = med(noFlush, 'rps');
    kit.rows.push({
      id: 'P9 floor, no flush wait',
      what: `the floor on a database with synchronous_commit off (COMMIT does not wait for the WAL flush; the same SQL, the same rounds): ${Math.round(nf / 2)} sales/s, against the floor`,
      hub: nf,
      baseline: fl,
      ratio: nf / fl,
      unit: 'req/s',
      target: 'reference',
      met: undefined,
      note: `CPU per request: ${cpu(noFlush)}`,
    });
  }
  if (signedFloor.length) {
    const sf = med(signedFloor, 'rps');
    kit.rows.push({
      id: 'P9, floor signing',
      what: `one instance against the floor signing each purchase's contract as P2's floor does (Ed25519 on the hub's signing thread, before it locks; the same SQL, the same rounds: ${Math.round(sf / 2)} sales/s). P9's own floor signs nothing: this row is a reference`,
      hub: h1,
      baseline: sf,
      ratio: h1 / sf,
      unit: 'req/s',
      target: 'reference',
      met: undefined,
      note: `CPU per request: the signing floor's: ${cpu(signedFloor)}`,
    });
  }
  kit.rows.push({
    id: 'P9 vs SQLite',
    what: `one instance on PostgreSQL against the SQLite-backed hub (file, synchronous=FULL) under the same load in the same rounds (${Math.round(sq / 2)} sales/s; its process ${Math.round(med(lite, 'serverUs'))} µs of CPU per request, the machine ${Math.round(med(lite, 'machineUs'))} µs)`,
    hub: h1,
    baseline: sq,
    ratio: h1 / sq,
    unit: 'req/s',
    target: 'reference',
    met: undefined,
  });
  if (lag) {
    kit.rows.push({
      id: 'P9 lag',
      what: `catalog-copy lag while instance A sells alone (64 connections, ${Math.round(lag.sales)} sales/s, ${z.lagDur} s): each event's arrival at a subscriber of instance B minus its \`at\` (stamped by A when the change is decided under the flavor's row lock, so it includes the wait for the seq counter and the COMMIT); p50 ${fmt(lag.b.p50)} ms, p99 ${fmt(lag.b.p99)} ms; events committed and not yet delivered by B at each arrival: p50 ${lag.b.behind50}, p99 ${lag.b.behind99}; baseline: A's own subscribers (its copy, fed by the same event stream): p50 ${fmt(lag.a.p50)} ms, p99 ${fmt(lag.a.p99)} ms, ${lag.a.behind50} / ${lag.a.behind99} events`,
      hub: lag.b.p99,
      baseline: lag.a.p99,
      ratio: lag.b.p99 / lag.a.p99,
      unit: 'ms p99',
      target: 'reference',
      met: undefined,
      note: `CPU per request A answered: A ${Math.round(lag.cpu.a)} µs, B (following) ${Math.round(lag.cpu.b)} µs; the same event's arrival through B minus through A: p50 ${lag.bMinusA.p50} ms, p99 ${lag.bMinusA.p99} ms (B first for ${Math.round(lag.bMinusA.bFirst * 100)} % of events); ${lag.b.n} / ${lag.a.n} events recorded`,
    });
  }
}

/** Points the floor at a fresh database (copying its sample from `from` first). */
async function use(floor: Proc, db: string, from?: string, signed = false): Promise<void> {
  const r = await floor.ask<{ error?: string }>({ type: 'use', db, from, signed });
  if (r.error) throw new Error(`pg-floor: ${r.error}`);
}

/** Waits until B's catalog copy has applied every event A has (bounded). */
async function caughtUp(a: Proc, b: Proc): Promise<void> {
  const end = Date.now() + 30_000;
  const { seq } = await a.ask<{ seq: number }>({ type: 'seq' });
  while (Date.now() < end && (await b.ask<{ seq: number }>({ type: 'seq' })).seq < seq) {
    await sleep(50);
  }
}

interface LagStats {
  p50: number;
  p99: number;
  behind50: number;
  behind99: number;
  n: number;
}

async function copyLag(
  kit: Kit,
  a: { proc: Proc; url: string },
  b: { proc: Proc; url: string },
  ids: string[],
  sales: (
    url: string,
    ids: string[],
    seed: number,
    seconds: number,
  ) => Promise<{ requests: { average: number } }>,
  seconds: number,
): Promise<{
  a: LagStats;
  b: LagStats;
  sales: number;
  /** CPU per request A answered: A's, and that of B, which follows A's changes. */
  cpu: { a: number; b: number };
  bMinusA: { p50: number; p99: number; bFirst: number };
}> {
  kit.log('P9 lag: catalog copies while A sells');
  const probe = spawnProc('clients/lag.ts', [
    JSON.stringify({ urls: [a.url, b.url], token: kit.consumerToken(0) }),
  ]);
  await probe.once('ready');
  await probe.ask({ type: 'start' });
  const [a0, b0] = [await processCpuUs([a.proc]), await processCpuUs([b.proc])];
  const r = await sales(a.url, ids, 99, seconds);
  const [a1, b1] = [await processCpuUs([a.proc]), await processCpuUs([b.proc])];
  const requests = r.requests.average * seconds;
  await sleep(500);
  const { seen } = await probe.ask<{ seen: Array<Array<[number, number, number]>> }>({
    type: 'stop',
  });
  await probe.kill();
  // Every event either instance delivered, by commit stamp: at each arrival, how many had
  // been stamped by then with a higher seq than the one arriving.
  const stamps = [...(seen[0] ?? []), ...(seen[1] ?? [])]
    .map(([seq, at]) => [at, seq] as const)
    .sort((x, y) => x[0] - y[0]);
  const stats = (list: Array<[number, number, number]>): LagStats => {
    const ms = new Histogram();
    const behind: number[] = [];
    let k = 0;
    let newest = 0;
    for (const [seq, at, arrived] of [...list].sort((x, y) => x[2] - y[2])) {
      ms.recordMs(arrived - at);
      while (k < stamps.length && (stamps[k]?.[0] ?? Infinity) <= arrived) {
        newest = Math.max(newest, stamps[k]?.[1] ?? 0);
        k++;
      }
      behind.push(Math.max(0, newest - seq));
    }
    behind.sort((x, y) => x - y);
    return {
      p50: ms.percentile(50),
      p99: ms.percentile(99),
      behind50: behind[Math.floor(behind.length * 0.5)] ?? 0,
      behind99: behind[Math.floor(behind.length * 0.99)] ?? 0,
      n: list.length,
    };
  };
  // The same event's arrival through B's copy minus through A's (negative: B was first).
  const atA = new Map((seen[0] ?? []).map(([seq, , arrived]) => [seq, arrived]));
  const gaps: number[] = [];
  for (const [seq, , arrived] of seen[1] ?? []) {
    const a0 = atA.get(seq);
    if (a0 !== undefined) gaps.push(arrived - a0);
  }
  gaps.sort((x, y) => x - y);
  const pick = (p: number) => gaps[Math.min(gaps.length - 1, Math.floor(gaps.length * p))] ?? NaN;
  return {
    a: stats(seen[0] ?? []),
    b: stats(seen[1] ?? []),
    sales: r.requests.average / 2,
    cpu: { a: (a1 - a0) / requests, b: (b1 - b0) / requests },
    bMinusA: {
      p50: pick(0.5),
      p99: pick(0.99),
      bFirst: gaps.filter((g) => g < 0).length / gaps.length,
    },
  };
}

// ---------------------------------------------------------------------------------------

export async function p10(
  kit: Kit,
  z: { subs: number; subProcs: number; rounds: number; dur: number },
): Promise<void> {
  const what = `refresh committed on instance A → ${z.subs} subscribers on instance B, 10 refreshes/s`;
  const c = await postgres();
  if (!c) return skipped(kit, 'P10', what);
  kit.log(`P10: ${what}`);
  const tokens = Array.from({ length: kit.consumers }, (_, i) => kit.consumerToken(i));
  const cross: Array<{ p50: number; p99: number; deliveries: number }> = [];
  const local: Array<{ p50: number; p99: number; deliveries: number }> = [];
  for (let i = 0; i < z.rounds; i++) {
    const db = await c.createDatabase();
    const [a, b] = await Promise.all([
      kit.startHub({ seed: 'broadcast', n: 1, pg: db }),
      kit.startHub({ seed: 'broadcast', n: 0, pg: db }),
    ]);
    const { ids } = await a.proc.ask<{ ids: string[] }>({ type: 'ids' });
    const flavorId = ids[0] as string;
    await caughtUp(a.proc, b.proc);
    const fire = kit.hubFire(a.url, flavorId);
    // Alternate which goes first, round by round.
    const order: Array<[{ url: string }, typeof cross]> =
      i % 2 === 0
        ? [
            [b, cross],
            [a, local],
          ]
        : [
            [a, local],
            [b, cross],
          ];
    for (const [where, into] of order) {
      const subs = await kit.startSubscribers(
        { kind: 'hub', url: where.url, tokens, flavorIds: [flavorId] },
        z.subs,
        z.subProcs,
      );
      if (!kit.quick) await kit.latencyRun(subs, fire, 10, 1);
      into.push(await kit.latencyRun(subs, fire, 10, z.dur));
      await Promise.all(subs.map((s) => s.kill()));
    }
    await Promise.all([a.proc.kill(), b.proc.kill()]);
    await c.dropDatabase(dbName(db));
  }
  const p = (xs: typeof cross, k: 'p50' | 'p99') => median(xs.map((x) => x[k]));
  kit.rows.push({
    id: 'P10',
    what: `${what}, refresh request → delivery, p99 (p50 ${fmt(p(cross, 'p50'))} ms), against the same ${z.subs} subscribers on A (p50 ${fmt(p(local, 'p50'))} ms); ${z.rounds} round(s) of ${z.dur} s on fresh databases, the order alternating`,
    hub: p(cross, 'p99'),
    baseline: p(local, 'p99'),
    ratio: p(cross, 'p99') / p(local, 'p99'),
    unit: 'ms p99',
    target: 'reference',
    met: undefined,
    note: `${cross.reduce((s, x) => s + x.deliveries, 0)} / ${local.reduce((s, x) => s + x.deliveries, 0)} deliveries recorded; p50 ratio ${(p(cross, 'p50') / p(local, 'p50')).toFixed(2)}×`,
  });
}

// ---------------------------------------------------------------------------------------

const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));

interface CliHub {
  child: ChildProcess;
  url: Promise<string>;
  /** Resolves with the stamp of its first `leading` line. */
  leading: Promise<number>;
  /** Resolves with the stamp of its first `leading` line stamped after `t`. */
  leadingAfter(t: number): Promise<number>;
  kill(): Promise<void>;
}

/** Hubs of P11 still running, killed if the harness exits without stopping them. */
const cliHubs = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of cliHubs) child.kill('SIGKILL');
});

/** `rear-hub serve` as shipped (dist/), its log lines read from stdout. */
function serveHub(db: string, tokensFile: string): CliHub {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--port', '0', '--db', db, '--tokens', tokensFile, '--rate-limit', '0'],
    {
      env: { ...process.env, LOG_LEVEL: 'info', NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  let onUrl: (u: string) => void = () => {};
  const url = new Promise<string>((r) => (onUrl = r));
  // Every `leading` line's stamp: one that led briefly at start must not count as a takeover.
  const led: number[] = [];
  const waiting: Array<{ after: number; resolve: (t: number) => void }> = [];
  const leadingAfter = (after: number) =>
    new Promise<number>((resolve) => {
      const t = led.find((x) => x > after);
      if (t !== undefined) resolve(t);
      else waiting.push({ after, resolve });
    });
  const onLeading = (now: number) => {
    led.push(now);
    for (let i = waiting.length - 1; i >= 0; i--) {
      const w = waiting[i] as (typeof waiting)[number];
      if (now > w.after) {
        waiting.splice(i, 1);
        w.resolve(now);
      }
    }
  };
  let pending = '';
  child.stdout?.on('data', (d: Buffer) => {
    const now = stampMs();
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      let rec: { msg?: string; url?: string };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        continue;
      }
      if (rec.msg === 'leading') onLeading(now);
      if (rec.msg === 'listening' && rec.url) onUrl(rec.url);
    }
  });
  cliHubs.add(child);
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      cliHubs.delete(child);
      r();
    }),
  );
  return {
    child,
    url,
    leading: leadingAfter(-Infinity),
    leadingAfter,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export async function p11(kit: Kit, rounds: number): Promise<void> {
  const what = 'leader failover: three instances, SIGKILL the leader';
  const c = await postgres();
  if (!c) return skipped(kit, 'P11', what);
  kit.log(`P11: ${what}, ${rounds} round(s)`);
  const dir = mkdtempSync(join(tmpdir(), 'rear-bench-failover-'));
  const tokensFile = join(dir, 'tokens.json');
  writeFileSync(
    tokensFile,
    JSON.stringify([
      {
        token: 'bench-provider',
        role: 'provider',
        identity: { Domain: 'bench', NodeID: 'bench-provider', IP: '127.0.0.1' },
      },
    ]),
  );
  const times: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const db = await c.createDatabase();
      // The first starts alone (it makes the schema and the key set), then the other two.
      const first = serveHub(db, tokensFile);
      const hubs = [first];
      try {
        await bounded(first.url, 60_000, 'a hub listening');
        hubs.push(serveHub(db, tokensFile), serveHub(db, tokensFile));
        await bounded(Promise.all(hubs.map((h) => h.url)), 60_000, 'three hubs listening');
        const leader = await bounded(
          Promise.race(hubs.map((h) => h.leading.then(() => h))),
          30_000,
          'a leader',
        );
        // Let the others settle into their ticks.
        await sleep(1500);
        const others = hubs.filter((h) => h !== leader);
        const killedAt = stampMs();
        leader.child.kill('SIGKILL');
        const took = await bounded(
          Promise.race(others.map((h) => h.leadingAfter(killedAt))),
          30_000,
          'a new leader',
        );
        times.push(took - killedAt);
      } finally {
        await Promise.all(hubs.map((h) => h.kill()));
      }
      await c.dropDatabase(dbName(db));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const m = median(times);
  kit.rows.push({
    id: 'P11',
    what: `${what} (\`rear-hub serve\` processes on one database): time from the SIGKILL until another instance logs \`leading\`, median of ${rounds} (${times.map((t) => Math.round(t)).join(', ')} ms); the others bid on their 1 s tick, once PostgreSQL has seen the leader's connection close`,
    hub: m,
    baseline: undefined,
    ratio: undefined,
    unit: 'ms',
    target: '≤ a few s',
    met: m <= 5000,
  });
}

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, rej) =>
      setTimeout(() => rej(new Error(`P11: no ${what} within ${ms} ms`)), ms).unref(),
    ),
  ]);
}
