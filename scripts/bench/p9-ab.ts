/**
 * P9's two-instance load on two builds, alternated round by round on one cluster:
 * `tsx scripts/bench/p9-ab.ts <treeA> <treeB> [rounds] [seconds]`, each tree a checkout with
 * its dist/ built. Prints, per build, the median sales/s and the hub processes' CPU per
 * request (both instances together) and PostgreSQL's, and the event table's reads per sale —
 * the figures P9's "two" row reads (the same pools: 5 connections each), without the floor.
 * P9_ONE=1 runs one instance instead (the same 64 connections, its pool the default 10);
 * P9_FOLLOW=1 loads only the first of the two instances (64 connections) and prints, beside,
 * the CPU per request of the second, which only follows its changes;
 * P9_PROFILE_DIR=<dir> writes each hub's CPU profile of the load.
 */
import pg from 'pg';
import { findPgBinDir, startPostgres } from '../lib/pg-cluster.js';
import { answered } from './lib/answered.js';
import { median } from './lib/histogram.js';
import { postgresCpuUs, processCpuUs, spawnProc, type Proc } from './lib/proc.js';
import { saleLoad } from './lib/sales.js';

const profileDir = process.env.P9_PROFILE_DIR;
/** P9_ONE=1: one instance under all 64 connections instead of two under 32 each. */
const one = process.env.P9_ONE === '1';
/** P9_FOLLOW=1: all 64 connections on instance A; B follows, idle. */
const follow = process.env.P9_FOLLOW === '1';
const [treeA, treeB] = process.argv.slice(2, 4) as [string, string];
const rounds = Number(process.argv[4] ?? 4);
const seconds = Number(process.argv[5] ?? 5);
findPgBinDir();
const cluster = await startPostgres({ settings: { shared_buffers: '256MB' } });
const tokens = Array.from({ length: 200 }, (_, i) => `bench-consumer-${i}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function hub(
  tree: string,
  opts: Record<string, unknown>,
): Promise<{ proc: Proc; url: string }> {
  // spawnProc resolves the script against this directory: reach the other tree from here.
  const rel = `../../../..${tree}/scripts/bench/servers/hub.ts`;
  const proc = spawnProc(rel, [JSON.stringify({ consumers: 200, ...opts })]);
  const { url } = await proc.once<{ url: string }>('ready');
  return { proc, url };
}

const sysUs = async (ps: Proc[]) =>
  (await Promise.all(ps.map((p) => p.ask<{ cpu: NodeJS.CpuUsage }>({ type: 'cpu' })))).reduce(
    (s, r) => s + r.cpu.system,
    0,
  );

async function eventScans(db: string): Promise<number> {
  const c = new pg.Client({ connectionString: db });
  await c.connect();
  const r = await c.query(
    `SELECT coalesce(idx_scan, 0) + coalesce(seq_scan, 0) AS n FROM pg_stat_user_tables WHERE relname = 'events'`,
  );
  await c.end();
  return Number(r.rows[0]?.n ?? 0);
}

const results = new Map<
  string,
  Array<{ rps: number; us: number; pgUs: number; scans: number; followerUs: number }>
>();
try {
  for (let i = 0; i < rounds; i++) {
    for (const tree of i % 2 === 0 ? [treeA, treeB] : [treeB, treeA]) {
      const db = await cluster.createDatabase();
      // As P9's rows: one instance with the default pool (10), two with 5 each.
      const a = await hub(tree, { seed: 'pool', n: 500, pg: db, ...(one ? {} : { pgPool: 5 }) });
      const b = one ? a : await hub(tree, { seed: 'pool', n: 0, pg: db, pgPool: 5 });
      const procs = one ? [a.proc] : [a.proc, b.proc];
      const { ids } = await a.proc.ask<{ ids: string[] }>({ type: 'ids' });
      const { seq } = await a.proc.ask<{ seq: number }>({ type: 'seq' });
      while ((await b.proc.ask<{ seq: number }>({ type: 'seq' })).seq < seq) await sleep(50);
      const load = async (url: string, seed: number, s: number) =>
        answered(
          await saleLoad({ url, flavorIds: ids, tokens, seed, seconds: s, connections: 32 }),
          url,
        );
      // Following: both halves of the load on A.
      const bUrl = follow ? a.url : b.url;
      await Promise.all([load(a.url, 1, 1), load(bUrl, 2, 1)]);
      if (profileDir) await Promise.all(procs.map((p) => p.ask({ type: 'profile-start' })));
      await sleep(1500);
      const scans0 = await eventScans(db);
      const pg0 = postgresCpuUs(cluster.dataDir);
      const sys0 = await sysUs(procs);
      const before = await processCpuUs(procs);
      const bBefore = await processCpuUs([b.proc]);
      const bSys0 = await sysUs([b.proc]);
      const [ra, rb] = await Promise.all([
        load(a.url, 10 + i, seconds),
        load(bUrl, 50 + i, seconds),
      ]);
      const used = (await processCpuUs(procs)) - before;
      const bUsed = (await processCpuUs([b.proc])) - bBefore;
      const bSys = (await sysUs([b.proc])) - bSys0;
      const sys = (await sysUs(procs)) - sys0;
      const pgUsed = postgresCpuUs(cluster.dataDir) - pg0;
      await sleep(1500);
      const scans = (await eventScans(db)) - scans0;
      if (profileDir) {
        for (const p of procs) {
          const { file } = await p.ask<{ file: string }>({ type: 'profile-stop', dir: profileDir });
          console.log(`profile ${tree}: ${file}`);
        }
      }
      const total = (ra?.requests.total ?? 0) + (rb?.requests.total ?? 0);
      const rps = (ra?.requests.average ?? 0) + (rb?.requests.average ?? 0);
      const list = results.get(tree) ?? [];
      list.push({
        rps,
        us: used / total,
        pgUs: pgUsed / total,
        scans: scans / (total / 2),
        followerUs: bUsed / total,
      });
      results.set(tree, list);
      console.log(
        `round ${i + 1} ${tree}: ${rps.toFixed(1)} req/s, ${Math.round(used / total)} µs/request (hubs; ${Math.round(sys / total)} in the kernel), PostgreSQL ${Math.round(pgUsed / total)} µs/request, event reads per sale ${(scans / (total / 2)).toFixed(2)}${follow ? `; the follower ${Math.round(bUsed / total)} µs/request (${Math.round(bSys / total)} in the kernel)` : ''}`,
      );
      await Promise.all(procs.map((p) => p.kill()));
      await cluster.dropDatabase(new URL(db).pathname.slice(1));
    }
  }
} finally {
  await cluster.stop();
}
for (const [tree, list] of results) {
  console.log(
    `${tree}: median ${median(list.map((x) => x.rps)).toFixed(1)} req/s, hubs ${Math.round(median(list.map((x) => x.us)))} µs/request, PostgreSQL ${Math.round(median(list.map((x) => x.pgUs)))} µs/request, event reads per sale ${median(list.map((x) => x.scans)).toFixed(2)}${follow ? `, the follower ${Math.round(median(list.map((x) => x.followerUs)))} µs/request` : ''}`,
  );
}
process.exit(0);
