/**
 * npm run bench [-- --quick] [-- --only P1,P3]   (M1–M3: P1–P3's loads with /metrics on vs off)
 *
 * Every figure is a ratio against a baseline measured in the same run, interleaved, medians
 * of several rounds, because the machine is shared and noisy. Servers and load clients run
 * in separate processes; all traffic stays on 127.0.0.1 and every loop is bounded in count
 * and time. Prints a table, writes bench-output/results.json, and (full mode) BENCHMARKS.md.
 * A missed target does not fail the run; a crash of the harness does, and so does a failed
 * request in any load, hub's or baseline's (lib/answered.ts): a rate that counted failures
 * would measure them.
 *
 * The scale-out rows (P1 pg, P9, P10, P11; `--only=P1pg,P9,P10,P11`) run hubs on a throwaway
 * PostgreSQL cluster started for the run and stopped at its end (scale-out.ts); without
 * PostgreSQL's binaries they print a "skipped: no PostgreSQL" row.
 *
 * P1 also gives the row "P1 uncached" (the same hub with LIST's kept answers off). P3 also
 * gives the rows "P3 naive ws" and "P3 latency"; `--only=P3lat` runs the latency rounds alone
 * (at 5 events/s, or `--p3-rate=N`). `--only=P3pings` runs what liveness pings cost the
 * deliveries (pings.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import WebSocket from 'ws';
import { answered } from './lib/answered.js';
import { prng, randomSelectorQuery } from './lib/catalog.js';
import { Histogram, median, stampMs } from './lib/histogram.js';
import { buildDist, machineCpu, spawnProc, type Proc } from './lib/proc.js';
import { hubAnswers, listLoad } from './lib/lists.js';
import { saleLoad } from './lib/sales.js';
import { pings } from './pings.js';
import {
  p10,
  p11,
  p1pg,
  p9,
  stopPostgres,
  type Kit,
  type LatencyResult,
  type Row,
} from './scale-out.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const ONLY = argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const CONSUMERS = 200;
/**
 * P3's steady rate in events/s (`--p3-rate=N` sets it): by default a quarter of the best raw
 * ws server's saturated rate in the same run. Saturated, several events share a turn and so a
 * write; paced events mostly go out alone and cost more each (at half the saturated rate
 * both servers still queued for seconds on this machine), so a quarter is what both sustain.
 */
const P3_RATE = argv.find((a) => a.startsWith('--p3-rate='))?.slice(10);

const S = QUICK
  ? {
      listN: 2000,
      rounds: 2,
      dur: 2,
      p7: [1000, 5000, 20000],
      p8Window: 2,
      p2Flavors: 200,
      subs: 500,
      subProcs: 1,
      p4Dur: 3,
      p5Isolated: 3,
      p6Conns: 1000,
      p6Rounds: 1,
      pgRounds: 1,
      p9Rounds: 1,
      p9Flavors: 100,
      p9Dur: 1,
      lagDur: 1,
      p10Subs: 200,
      p10Dur: 1,
      p11Rounds: 1,
    }
  : {
      listN: 10_000,
      rounds: 5,
      dur: 5,
      p7: [1000, 10_000, 100_000],
      p8Window: 10,
      p2Flavors: 500,
      subs: 5000,
      subProcs: 2,
      p4Dur: 10,
      p5Isolated: 20,
      p6Conns: 10_000,
      p6Rounds: 3,
      pgRounds: 3,
      // P9's rows read 0.75–0.97× one instance across sessions' 3-round runs: 5 steady them.
      p9Rounds: 5,
      p9Flavors: 500,
      p9Dur: 5,
      lagDur: 5,
      p10Subs: 2000,
      p10Dur: 10,
      p11Rounds: 5,
    };

const rows: Row[] = [];
const log = (...a: unknown[]) => console.log('[bench]', ...a);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const want = (id: string) => !ONLY || ONLY.includes(id);

async function startHub(
  opts: Record<string, unknown>,
  gc = false,
): Promise<{ proc: Proc; url: string }> {
  const proc = spawnProc(
    'servers/hub.ts',
    [JSON.stringify({ consumers: CONSUMERS, ...opts })],
    gc ? ['--expose-gc'] : [],
  );
  const { url } = await proc.once<{ url: string }>('ready');
  return { proc, url };
}

async function startBaseline(
  opts: Record<string, unknown>,
  gc = false,
): Promise<{ proc: Proc; url: string }> {
  const proc = spawnProc('servers/baselines.ts', [JSON.stringify(opts)], gc ? ['--expose-gc'] : []);
  const { url } = await proc.once<{ url: string }>('ready');
  return { proc, url };
}

async function startSubscribers(
  opts: Record<string, unknown>,
  n: number,
  procs: number,
): Promise<Proc[]> {
  const out: Proc[] = [];
  for (let i = 0; i < procs; i++) {
    const share = Math.floor(n / procs) + (i < n % procs ? 1 : 0);
    const p = spawnProc('clients/subscribers.ts', [JSON.stringify({ ...opts, n: share })]);
    out.push(p);
  }
  await Promise.all(out.map((p) => p.once('ready', 300_000)));
  return out;
}

const consumerToken = (i: number) => `bench-consumer-${i % CONSUMERS}`;
const PROVIDER = { authorization: 'Bearer bench-provider', 'content-type': 'application/json' };

/** Runs a load and measures the server process's CPU (all its threads) over it. */
async function withServerCpu<R extends { total: number }>(
  proc: Proc,
  go: () => Promise<R>,
): Promise<R & { usPerRequest: number; pctOfCore: number }> {
  const c0 = await proc.ask<{ cpu: NodeJS.CpuUsage; at: number }>({ type: 'cpu' });
  const r = await go();
  const c1 = await proc.ask<{ cpu: NodeJS.CpuUsage; at: number }>({ type: 'cpu' });
  const us = c1.cpu.user - c0.cpu.user + c1.cpu.system - c0.cpu.system;
  return {
    ...r,
    usPerRequest: us / Math.max(1, r.total),
    pctOfCore: (us / ((c1.at - c0.at) * 1000)) * 100,
  };
}

// ---------------------------------------------------------------------------------------

async function listRps(url: string, connections: number, duration: number, seed: number) {
  const result = answered(
    await listLoad({ url, token: consumerToken(0), connections, seconds: duration, seed }),
    `LIST load on ${url}`,
  );
  return {
    rps: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

/** The hub's answer to every query of P1's load, and their sizes (each query equally likely). */
async function answerSizes(url: string) {
  const answers = await hubAnswers(url, consumerToken(0));
  const sized = Object.values(answers).map((body) => ({
    bytes: Buffer.byteLength(body),
    count: (JSON.parse(body) as unknown[]).length,
    body,
  }));
  const mean = sized.reduce((sum, s) => sum + s.bytes, 0) / sized.length;
  sized.sort((a, b) => a.bytes - b.bytes);
  return {
    median: sized[sized.length >> 1] as { bytes: number; count: number; body: string },
    mean,
    counts: sized.map((s) => s.count).sort((a, b) => a - b),
    answers,
  };
}

async function p1(): Promise<void> {
  log(`P1: LIST with a random 3-field selector, ${S.listN} flavors`);
  const hub = await startHub({ seed: 'list', n: S.listN });
  // The same hub with LIST's kept answers off: every request walks the index and assembles
  // its answer (on a catalog that changes under the load, every request is such a miss).
  const cold = await startHub({ seed: 'list', n: S.listN, listCache: false });
  const sizes = await answerSizes(hub.url);
  // The baseline answers each request of the same load with the hub's own answer to it and
  // the hub's headers: the same bytes. (Answers to 200 sampled selectors, sent in turn, were
  // ~7 % smaller than the load's, and without the headers; on loopback the bytes are much of
  // the cost.)
  const answersDir = mkdtempSync(join(tmpdir(), 'rear-bench-p1-'));
  const answersFile = join(answersDir, 'answers.json');
  writeFileSync(answersFile, JSON.stringify(sizes.answers));
  const base = await startBaseline({ kind: 'fastify', answersFile });
  const hubRps: number[] = [];
  const baseRps: number[] = [];
  const hubUs: number[] = [];
  const baseUs: number[] = [];
  const coldRps: number[] = [];
  const coldUs: number[] = [];
  await listRps(hub.url, 10, 1, 1); // warm-up
  await listRps(cold.url, 10, 1, 1);
  await listRps(base.url, 10, 1, 1);
  const series = [
    { proc: hub.proc, url: hub.url, rps: hubRps, us: hubUs },
    { proc: cold.proc, url: cold.url, rps: coldRps, us: coldUs },
    { proc: base.proc, url: base.url, rps: baseRps, us: baseUs },
  ];
  // Whatever a series leaves behind (garbage, a busy kernel) lands on the next one: the order
  // rotates round by round, so each takes each place in turn (as P3's series do).
  for (let i = 0; i < S.rounds; i++) {
    for (let k = 0; k < series.length; k++) {
      const s = series[(i + k) % series.length] as (typeof series)[number];
      const r = await withServerCpu(s.proc, () => listRps(s.url, 10, S.dur, 100 + i));
      s.rps.push(r.rps);
      s.us.push(r.usPerRequest);
    }
  }
  await Promise.all([hub.proc.kill(), cold.proc.kill(), base.proc.kill()]);
  rmSync(answersDir, { recursive: true, force: true });
  const h = median(hubRps);
  const b = median(baseRps);
  const c = median(coldRps);
  rows.push({
    id: 'P1',
    what: `LIST k8slices, random selector, ${S.listN} flavors (median answer ${sizes.median.count} flavors, ${sizes.median.bytes} B; mean ${Math.round(sizes.mean)} B)`,
    hub: h,
    baseline: b,
    ratio: h / b,
    unit: 'req/s',
    target: '≥ 0.75×',
    met: h / b >= 0.75,
    note: `answers hold ${sizes.counts[Math.floor(sizes.counts.length * 0.1)]}–${sizes.counts[Math.floor(sizes.counts.length * 0.9)]} flavors (p10–p90); server CPU per request: hub ${Math.round(median(hubUs))} µs, baseline ${Math.round(median(baseUs))} µs; load average ${loadavg()[0]?.toFixed(1)} at the end (other work on the machine inflates both)`,
  });
  rows.push({
    id: 'P1 uncached',
    what: `P1's load against the same hub with LIST's kept answers off (\`--list-cache 0\`): each request walks the index and assembles its answer, as on a catalog that changes under the load (server CPU per request ${Math.round(median(coldUs))} µs)`,
    hub: c,
    baseline: b,
    ratio: c / b,
    unit: 'req/s',
    target: 'reference',
    met: undefined,
  });
}

/** Sequential GETs on one keep-alive connection, each timed into a histogram (50 µs buckets). */
async function timedLists(
  url: string,
  seconds: number,
  seed: number,
): Promise<{ p50: number; p99: number; n: number }> {
  const r = prng(seed);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const hist = new Histogram();
  const end = stampMs() + seconds * 1000;
  let n = 0;
  while (stampMs() < end && n < 1_000_000) {
    const t0 = stampMs();
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        `${url}/api/v2/flavors/k8slices?${randomSelectorQuery(r)}`,
        { agent, headers: { authorization: `Bearer ${consumerToken(0)}` } },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end();
    });
    hist.recordMs(stampMs() - t0);
    n++;
  }
  agent.destroy();
  return { p50: hist.percentile(50), p99: hist.percentile(99), n };
}

async function p7p8(): Promise<void> {
  const lat: Record<number, { p50: number; p99: number }> = {};
  for (const n of S.p7) {
    log(`P7: LIST latency at ${n} flavors`);
    const hub = await startHub({ seed: 'list', n });
    await timedLists(hub.url, 1, 3);
    const runs = [];
    for (let i = 0; i < Math.max(2, S.rounds - 2); i++)
      runs.push(await timedLists(hub.url, S.dur, 200 + i));
    lat[n] = { p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)) };
    if (n === S.p7.at(-1) && want('P8')) await p8(hub.proc, n);
    await hub.proc.kill();
  }
  const small = lat[S.p7[0] as number] as { p50: number; p99: number };
  const big = lat[S.p7.at(-1) as number] as { p50: number; p99: number };
  const ratio = big.p50 / small.p50;
  rows.push({
    id: 'P7',
    what: `LIST latency p50 at ${S.p7.join(' / ')} flavors: ${S.p7.map((n) => fmt(lat[n]?.p50)).join(' / ')} ms (p99 ${S.p7.map((n) => fmt(lat[n]?.p99)).join(' / ')} ms), one client, sequential`,
    hub: big.p50,
    baseline: small.p50,
    ratio,
    unit: 'ms p50',
    target: `${S.p7.at(-1)} ≤ 10× ${S.p7[0]}`,
    met: ratio <= 10,
  });
}

async function p8(proc: Proc, n: number): Promise<void> {
  log(`P8: idle CPU with ${n} flavors`);
  // Let the collector finish with what the load before left behind.
  await sleep(5000);
  const a = await proc.ask<{ cpu: NodeJS.CpuUsage; at: number }>({ type: 'cpu' });
  await sleep(S.p8Window * 1000);
  const b = await proc.ask<{ cpu: NodeJS.CpuUsage; at: number }>({ type: 'cpu' });
  const usedUs = b.cpu.user - a.cpu.user + (b.cpu.system - a.cpu.system);
  const pct = (usedUs / ((b.at - a.at) * 1000)) * 100;
  rows.push({
    id: 'P8',
    what: `hub CPU while idle, ${n} flavors (long TTLs), ${S.p8Window} s window`,
    hub: pct,
    baseline: undefined,
    ratio: undefined,
    unit: '% of a core',
    target: '≤ 1 %',
    met: pct <= 1,
  });
}

// ---------------------------------------------------------------------------------------

/** Where each sale floor answers on the baseline server (servers/baselines.ts saleFloor). */
const FLOOR_PREFIX = { 'sale floor': '', 'unsigned floor': '/unsigned', 'small floor': '/small' };

async function p2(): Promise<void> {
  log('P2: reserve + purchase, durable, many buyers over many flavors');
  const hub = await startHub({ seed: 'pool', n: S.p2Flavors, file: true });
  const { ids } = await hub.proc.ask<{ ids: string[] }>({ type: 'ids' });
  // The same load for the hub and its sale floors (lib/sales.ts).
  const tokens = Array.from({ length: CONSUMERS }, (_, i) => consumerToken(i));
  const sales = (url: string, prefix: string, seed: number, seconds: number) =>
    saleLoad({ url, prefix, flavorIds: ids, tokens, seed, seconds });
  // A warm-up that also makes the sales whose rows the sale floor copies.
  await sales(hub.url, '', 1, 1);
  const { sample } = await hub.proc.ask<{ sample: unknown }>({ type: 'sample' });
  const dbDir = mkdtempSync(join(tmpdir(), 'rear-bench-floor-'));
  const base = await startBaseline({ kind: 'fastify', db: join(dbDir, 'floor.db'), sale: sample });
  // P2's fixed small POST to bare fastify ('base') or its durable route ('floor').
  const bare = (target: 'base' | 'floor', duration: number) =>
    autocannon({
      url: base.url,
      connections: 64,
      duration,
      requests: [
        {
          method: 'POST',
          path: target === 'base' ? '/post' : '/durable',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(
            target === 'base'
              ? { FlavorID: 'fl-0123456789abcdef' }
              : {
                  FlavorID: 'fl-0123456789abcdef',
                  Configuration: { type: 'k8slice', data: { cpu: '2', memory: '2Gi', pods: '2' } },
                },
          ),
        },
      ],
    });
  const run = async (
    target: 'hub' | 'base' | 'floor' | 'sale floor' | 'unsigned floor' | 'small floor',
    seed: number,
    duration: number,
  ) => {
    let res: autocannon.Result;
    if (target === 'base' || target === 'floor') res = await bare(target, duration);
    else if (target === 'hub') res = await sales(hub.url, '', seed, duration);
    else res = await sales(base.url, FLOOR_PREFIX[target], seed, duration);
    answered(res, `P2 ${target}`);
    return { rps: res.requests.average, total: res.requests.total };
  };
  await run('base', 1, 1);
  await run('floor', 1, 1);
  await run('sale floor', 1, 1);
  await run('unsigned floor', 1, 1);
  await run('small floor', 1, 1);
  const h: number[] = [];
  const uf: number[] = [];
  const b: number[] = [];
  const f: number[] = [];
  const sf: number[] = [];
  const sm: number[] = [];
  // The server process's CPU (all its threads) per request answered, and its share of a core.
  const cpu = {
    hub: { us: [] as number[], pct: [] as number[] },
    floor: { us: [] as number[], pct: [] as number[] },
  };
  // The whole machine's busy CPU per request (server, load generator and kernel together):
  // two cores doing nothing else could answer at most 2 s / that many requests a second.
  const machine = { hub: [] as number[], base: [] as number[], saleFloor: [] as number[] };
  const measured = async (
    target: Parameters<typeof run>[0],
    seed: number,
    whole?: number[],
    server?: { proc: Proc; into: typeof cpu.hub },
  ) => {
    // A second of the same load first, not counted, for every target alike: in this rotation
    // the hub idles through the five other loads (~25 s) while the floors' process serves
    // them, and a server's first second after an idle spell sold 10–45 % below its steady rate
    // (the hub's more than the floor's: docs/benchmarks.md, nineteenth session). Measured so,
    // P2 compared a cold hub with a warm floor. P9 warms each server before its rounds too.
    await run(target, seed + 100, 1);
    const m0 = machineCpu();
    const go = () => run(target, seed, S.dur);
    let r: Awaited<ReturnType<typeof go>>;
    if (server) {
      const withCpu = await withServerCpu(server.proc, go);
      server.into.us.push(withCpu.usPerRequest);
      server.into.pct.push(withCpu.pctOfCore);
      r = withCpu;
    } else r = await go();
    const m1 = machineCpu();
    whole?.push((m1.busyUs - m0.busyUs) / Math.max(1, r.total));
    log(`P2 round ${seed - 9}, ${target}: ${Math.round(r.rps)} req/s`);
    return r;
  };
  const floor = { proc: base.proc, into: cpu.floor };
  let seed = 10;
  const series: Array<() => Promise<unknown>> = [
    async () =>
      h.push((await measured('hub', seed, machine.hub, { proc: hub.proc, into: cpu.hub })).rps),
    async () => b.push((await measured('base', seed, machine.base)).rps),
    async () => f.push((await measured('floor', seed)).rps),
    async () => sf.push((await measured('sale floor', seed, machine.saleFloor, floor)).rps),
    async () => uf.push((await measured('unsigned floor', seed)).rps),
    async () => sm.push((await measured('small floor', seed)).rps),
  ];
  // The order rotates round by round, as P1's and P3's do.
  for (let i = 0; i < S.rounds; i++) {
    seed = 10 + i;
    for (let k = 0; k < series.length; k++) {
      await (series[(i + k) % series.length] as () => Promise<unknown>)();
    }
  }
  await Promise.all([hub.proc.kill(), base.proc.kill()]);
  rmSync(dbDir, { recursive: true, force: true });
  const hm = median(h);
  const bm = median(b);
  const fm = median(f);
  // What the machine's two cores allow at full use, from the CPU each request took of all.
  const ceiling = (usPerRequest: number[]) => {
    const us = median(usPerRequest);
    const most = (cpus().length * 1e6) / us;
    return `the machine as a whole (server, load generator, kernel) spent ${Math.round(us)} µs of CPU per request (the baseline's: ${Math.round(median(machine.base))} µs), so ${cpus().length} cores spent on nothing else would answer at most ${Math.round(most).toLocaleString('en-US')} req/s, ${(most / bm).toFixed(2)}× the baseline`;
  };
  const sfm = median(sf);
  rows.push({
    id: 'P2',
    what: `reserve + purchase (SQLite file, synchronous=FULL), 64 connections over ${S.p2Flavors} flavors: ${Math.round(hm / 2)} sales/s, against the sale floor (below: the same requests, stored rows and answer headers, the contract signed, none of the hub's other work: ${Math.round(sfm / 2)} sales/s)`,
    hub: hm,
    baseline: sfm,
    ratio: hm / sfm,
    unit: 'req/s',
    target: '≥ 0.8× sale floor',
    met: hm / sfm >= 0.8,
    note: `the hub process used ${Math.round(median(cpu.hub.pct))} % of a core (main + writer threads), ${Math.round(median(cpu.hub.us))} µs of CPU per request (the sale floor's: ${Math.round(median(cpu.floor.us))} µs), while the load generator ran on the same two cores; ${ceiling(machine.hub)}`,
  });
  rows.push({
    id: 'P2 vs fastify',
    what: "the hub's reserve + purchase against bare fastify answering a small validated POST (no store): how far durable sales are from answering at all",
    hub: hm,
    baseline: bm,
    ratio: hm / bm,
    unit: 'req/s',
    target: 'reference',
    met: undefined,
  });
  rows.push({
    id: 'P2 floor',
    what: "the baseline's route plus one durable commit per request through the hub's own store (same writer thread and group commit, one small row, nothing else): what durability alone leaves of the baseline on this machine",
    hub: fm,
    baseline: bm,
    ratio: fm / bm,
    unit: 'req/s',
    target: 'reference',
    met: undefined,
  });
  rows.push({
    id: 'P2 sale floor',
    what: `the same reserve + purchase requests, from the same load generator, answered with bodies of the hub's size and its headers (security headers, request id) after durably committing the rows of one of the hub's sales (held transaction; then status, contract, flavor, two events) through the hub's own store, the contract signed as the hub signs it (Ed25519, on the hub's signing thread, a turn's contracts in one batch), with no authentication, bookkeeping or serialization: the least work that produces the same bytes (its process: ${Math.round(median(cpu.floor.pct))} % of a core, ${Math.round(median(cpu.floor.us))} µs of CPU per request; ${ceiling(machine.saleFloor)})`,
    hub: sfm,
    baseline: bm,
    ratio: sfm / bm,
    unit: 'req/s',
    target: 'reference',
    met: undefined,
  });
  rows.push({
    id: 'P2 sale floor, unsigned',
    what: 'the sale floor answering and storing an unsigned contract (the floor before signed contracts, §12): what signing costs the floor',
    hub: median(uf),
    baseline: bm,
    ratio: median(uf) / bm,
    unit: 'req/s',
    target: 'reference',
    met: undefined,
  });
  const smm = median(sm);
  rows.push({
    id: 'P2 sale floor, small rows',
    what: "the sale floor with a purchase that commits only the transaction's new status (one small row): what the sale's stored bytes cost",
    hub: smm,
    baseline: bm,
    ratio: smm / bm,
    unit: 'req/s',
    target: 'reference',
    met: undefined,
  });
}

// ---------------------------------------------------------------------------------------

interface Report {
  count: number;
  closedByServer: number;
  hist: { counts: Array<[number, number]> };
  lastRecv: Array<[string, number]>;
}

async function collect(groups: Proc[]): Promise<Report[]> {
  return Promise.all(groups.map((g) => g.ask<Report>({ type: 'report' })));
}

/** Waits until the subscribers stop receiving (every delivery drained), bounded. */
async function drained(groups: Proc[], maxMs = 15_000): Promise<number> {
  const end = Date.now() + maxMs;
  let last = -1;
  let lastChange = stampMs();
  while (Date.now() < end) {
    const total = (await collect(groups)).reduce((s, r) => s + r.count, 0);
    if (total !== last) {
      last = total;
      lastChange = stampMs();
    } else if (stampMs() - lastChange > 400) break;
    await sleep(100);
  }
  return lastChange;
}

async function captureRefreshTemplate(hubUrl: string, flavorId: string): Promise<string> {
  const ws = new WebSocket(`${hubUrl.replace(/^http/, 'ws')}/api/v2/subscriptions`, {
    headers: { authorization: `Bearer ${consumerToken(0)}` },
  });
  await new Promise((r) => ws.once('open', r));
  const got = new Promise<string>((resolve) => {
    ws.on('message', (d) => {
      const t = d.toString();
      if (t.startsWith('{"type":"REFRESH_FLAVOR"')) resolve(t);
    });
  });
  ws.send(JSON.stringify({ type: 'SUBSCRIBE_FLAVOR', flavorId }));
  await sleep(100);
  await fetch(`${hubUrl}/api/v2/flavors/${flavorId}/refresh`, {
    method: 'POST',
    headers: PROVIDER,
    body: JSON.stringify({
      price: { amount: stampMs().toFixed(3), currency: 'EUR', period: 'hour' },
    }),
  });
  const t = await got;
  ws.close();
  return t;
}

type Fire = (stamp: string) => Promise<void>;

function hubFire(url: string, flavorId: string): Fire {
  return async (stamp) => {
    const res = await fetch(`${url}/api/v2/flavors/${flavorId}/refresh`, {
      method: 'POST',
      headers: PROVIDER,
      body: JSON.stringify({ price: { amount: stamp, currency: 'EUR', period: 'hour' } }),
    });
    await res.arrayBuffer();
    // A refresh refused makes no event: latency and rates would skip it unseen.
    if (!res.ok) throw new Error(`refresh of ${flavorId} answered ${res.status}`);
  };
}

function baselineFire(url: string, template: string, path = '/fire'): Fire {
  return async (stamp) => {
    const body = template.replace(/"amount":"[0-9.]+"/, `"amount":"${stamp}"`);
    const res = await fetch(`${url}${path}`, { method: 'POST', body });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url}${path} answered ${res.status}`);
  };
}

/** Fires as fast as the server takes them (4 in flight) for `seconds`; returns how many. */
async function saturate(fire: Fire, seconds: number): Promise<number> {
  const end = stampMs() + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (stampMs() < end && n < 1_000_000) {
        n++;
        await fire(stampMs().toFixed(3));
      }
    }),
  );
  return n;
}

/** Fires `rate` per second for `seconds` (open loop); returns the send stamps. */
async function paced(fire: Fire, rate: number, seconds: number): Promise<string[]> {
  const stamps: string[] = [];
  const inflight: Array<Promise<void>> = [];
  const t0 = stampMs();
  for (let i = 0; i < rate * seconds; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - stampMs();
    if (wait > 0) await sleep(wait);
    const s = stampMs().toFixed(3);
    stamps.push(s);
    inflight.push(fire(s));
  }
  await Promise.all(inflight);
  return stamps;
}

async function deliveriesPerSecond(
  groups: Proc[],
  fire: Fire,
  seconds: number,
): Promise<{ rate: number; fired: number; closed: number; total: number }> {
  await Promise.all(groups.map((g) => g.ask({ type: 'reset', latency: false })));
  const t0 = stampMs();
  const fired = await saturate(fire, seconds);
  const tEnd = await drained(groups);
  const reports = await collect(groups);
  const total = reports.reduce((s, r) => s + r.count, 0);
  return {
    rate: total / ((tEnd - t0) / 1000),
    fired,
    total,
    closed: reports.reduce((s, r) => s + r.closedByServer, 0),
  };
}

/** Per fired stamp, the time until its last receipt in any client process. */
function untilLast(reports: Report[], stamps: string[]): Histogram {
  const last = new Map<string, number>();
  for (const r of reports)
    for (const [k, v] of r.lastRecv) last.set(k, Math.max(last.get(k) ?? 0, v));
  const toLast = new Histogram();
  for (const s of stamps) {
    const l = last.get(s);
    if (l !== undefined) toLast.recordMs(l - Number(s));
  }
  return toLast;
}

async function latencyRun(
  groups: Proc[],
  fire: Fire,
  rate: number,
  seconds: number,
): Promise<LatencyResult> {
  await Promise.all(groups.map((g) => g.ask({ type: 'reset', latency: true })));
  const stamps = await paced(fire, rate, seconds);
  await drained(groups);
  const reports = await collect(groups);
  const hist = new Histogram();
  for (const r of reports) hist.add(r.hist);
  const toLast = untilLast(reports, stamps);
  return {
    p50: hist.percentile(50),
    p99: hist.percentile(99),
    p999: hist.percentile(99.9),
    lastP99: toLast.percentile(99),
    deliveries: hist.total,
    events: stamps.length,
  };
}

/**
 * One event at a time, each sent only once the previous one has reached every subscriber:
 * the time from the request to the last subscriber with nothing else in flight.
 */
async function isolatedRun(groups: Proc[], fire: Fire, events: number) {
  await Promise.all(groups.map((g) => g.ask({ type: 'reset', latency: true })));
  const stamps: string[] = [];
  for (let i = 0; i < events; i++) {
    const s = stampMs().toFixed(3);
    stamps.push(s);
    await fire(s);
    await drained(groups);
  }
  const toLast = untilLast(await collect(groups), stamps);
  return { p50: toLast.percentile(50), p99: toLast.percentile(99), events: stamps.length };
}

/**
 * P3: saturated deliveries/s of the hub against the best raw `ws` server (each event framed
 * once and written to every socket, corked until the turn ends, as the hub does) and, as a
 * reference, the naive one (`ws.send` per client); then per-delivery latency of the hub and
 * of the best baseline at a steady rate both sustain. Every series in the same rounds, the
 * order rotating from round to round; medians.
 */
async function p3(
  n: number,
  hub: { proc: Proc; subs: Proc[]; fire: Fire },
  raw: { proc: Proc; subs: Proc[]; url: string },
  template: string,
): Promise<void> {
  const one = (name: string, proc: Proc, groups: Proc[], fire: Fire) => ({
    name,
    proc,
    groups,
    fire,
    rates: [] as number[],
    cpu: [] as number[],
    closed: 0,
    m: NaN,
  });
  const series = [
    one('hub', hub.proc, hub.subs, hub.fire),
    one('best', raw.proc, raw.subs, baselineFire(raw.url, template, '/fire-corked')),
    one('naive', raw.proc, raw.subs, baselineFire(raw.url, template)),
  ];
  const [hubS, best, naive] = series as [Series, Series, Series];
  type Series = ReturnType<typeof one>;
  // Other work on the shared machine moves one round ±50 %, and a round runs faster after
  // some series than others: whole rotations, so each series takes each place equally often.
  const rounds = 3 * Math.ceil(S.rounds / 3);
  for (let i = 0; want('P3') && i < rounds; i++) {
    for (let k = 0; k < series.length; k++) {
      const s = series[(i + k) % series.length] as Series;
      const r = await withServerCpu(s.proc, () => deliveriesPerSecond(s.groups, s.fire, S.dur));
      s.rates.push(r.rate);
      s.cpu.push(r.usPerRequest);
      s.closed += r.closed;
      log(
        `P3 round ${i + 1}, ${s.name}: ${Math.round(r.rate)} deliveries/s, server ${r.usPerRequest.toFixed(2)} µs CPU per delivery`,
      );
    }
  }
  for (const s of series) s.m = median(s.rates);
  const cpu = (s: Series) => median(s.cpu).toFixed(1);
  const bytes = Buffer.byteLength(template);
  if (want('P3')) {
    rows.push({
      id: 'P3',
      what: `REFRESH_FLAVOR deliveries/s to ${n} subscribers of one flavor, refreshes 4 in flight (${bytes} B events), against the best raw ws server: each event framed once and written to every socket, corked until the event-loop turn ends (server CPU per delivery: hub ${cpu(hubS)} µs, baseline ${cpu(best)} µs)`,
      hub: hubS.m,
      baseline: best.m,
      ratio: hubS.m / best.m,
      unit: 'deliveries/s',
      target: '≥ 0.9× best raw ws',
      met: hubS.m / best.m >= 0.9,
      note: `${S.subProcs} client process(es), ${rounds} rounds${hubS.closed ? `; ${hubS.closed} slow subscribers cut with 1013` : ''}`,
    });
    rows.push({
      id: 'P3 naive ws',
      what: `P3's load against a naive raw ws server (\`ws.send\` of the body to each client; P3's baseline until issue 16; its server CPU per delivery ${cpu(naive)} µs)`,
      hub: hubS.m,
      baseline: naive.m,
      ratio: hubS.m / naive.m,
      unit: 'deliveries/s',
      target: 'reference',
      met: undefined,
    });
  }
  if (!want('P3') && !want('P3lat')) return;

  const rate = P3_RATE
    ? Number(P3_RATE)
    : want('P3')
      ? Math.max(1, Math.round((0.25 * best.m) / n))
      : 5;
  const lat = { hub: [] as Array<LatencyResult>, best: [] as Array<LatencyResult> };
  // An even count: each goes first in half the rounds.
  const latRounds = 2 * Math.ceil(S.rounds / 3);
  for (let i = 0; i < latRounds; i++) {
    for (const which of i % 2 === 0 ? (['hub', 'best'] as const) : (['best', 'hub'] as const)) {
      const s = which === 'hub' ? hubS : best;
      // How long the request itself takes, to tell the server's answer from its fan-out.
      const answered = new Histogram();
      const timed: Fire = async (stamp) => {
        await s.fire(stamp);
        answered.recordMs(stampMs() - Number(stamp));
      };
      const r = await latencyRun(s.groups, timed, rate, S.p4Dur);
      lat[which].push(r);
      log(
        `P3 latency round ${i + 1}, ${which}: p50 ${r.p50} ms, p99 ${r.p99} ms; answered p50 ${answered.percentile(50)} ms, p99 ${answered.percentile(99)} ms`,
      );
    }
  }
  const med = (rs: LatencyResult[], k: 'p50' | 'p99') => median(rs.map((r) => r[k]));
  const h = { p50: med(lat.hub, 'p50'), p99: med(lat.hub, 'p99') };
  const b = { p50: med(lat.best, 'p50'), p99: med(lat.best, 'p99') };
  const recorded = (rs: LatencyResult[]) => rs.reduce((t, r) => t + r.deliveries, 0);
  rows.push({
    id: 'P3 latency',
    what: `per-delivery latency (fired → received by each subscriber) at ${rate} event(s)/s to ${n} subscribers${P3_RATE || !want('P3') ? '' : " (a quarter of the best raw ws server's saturated rate)"}, ${S.p4Dur} s × ${latRounds} rounds each, medians; p50: hub ${fmt(h.p50)} ms, best raw ws ${fmt(b.p50)} ms`,
    hub: h.p99,
    baseline: b.p99,
    ratio: h.p99 / b.p99,
    unit: 'ms p99',
    target: 'hub p99 ≤ 1.25× best raw ws',
    met: h.p99 / b.p99 <= 1.25,
    note: `${recorded(lat.hub)} / ${recorded(lat.best)} deliveries recorded of ${rate * S.p4Dur * latRounds * n} each`,
  });
}

async function p3p4p5(): Promise<void> {
  const n = S.subs;
  log(`P3–P5: ${n} subscribers of one flavor, ${S.subProcs} client process(es)`);
  const hub = await startHub({ seed: 'broadcast', n: 1, file: true });
  const { ids } = await hub.proc.ask<{ ids: string[] }>({ type: 'ids' });
  const flavorId = ids[0] as string;
  const template = await captureRefreshTemplate(hub.url, flavorId);
  const hubSubs = await startSubscribers(
    {
      kind: 'hub',
      url: hub.url,
      tokens: Array.from({ length: CONSUMERS }, (_, i) => consumerToken(i)),
      flavorIds: [flavorId],
    },
    n,
    S.subProcs,
  );
  const fireHub = hubFire(hub.url, flavorId);

  let rawLat: Awaited<ReturnType<typeof isolatedRun>> | undefined;
  if (want('P3') || want('P3lat') || want('P5')) {
    const raw = await startBaseline({ kind: 'ws' });
    const rawSubs = await startSubscribers({ kind: 'ws', url: raw.url }, n, S.subProcs);
    await p3(
      n,
      { proc: hub.proc, subs: hubSubs, fire: fireHub },
      { proc: raw.proc, subs: rawSubs, url: raw.url },
      template,
    );
    // P5's floor: the least work that delivers the same bytes, one event at a time.
    if (want('P5'))
      rawLat = await isolatedRun(
        rawSubs,
        baselineFire(raw.url, template, '/fire-framed'),
        S.p5Isolated,
      );
    await Promise.all([...rawSubs.map((p) => p.kill()), raw.proc.kill()]);
  }

  if (want('P4') || want('P5')) {
    const sio = await startBaseline({ kind: 'socketio' });
    const sioSubs = await startSubscribers({ kind: 'socketio', url: sio.url }, n, S.subProcs);
    const fireSio = baselineFire(sio.url, template);
    const hubLat = await latencyRun(hubSubs, fireHub, 20, S.p4Dur);
    const hubIso = rawLat ? await isolatedRun(hubSubs, fireHub, S.p5Isolated) : undefined;
    const sioLat = await latencyRun(sioSubs, fireSio, 20, S.p4Dur);
    const hubSat = await deliveriesPerSecond(hubSubs, fireHub, S.dur);
    const sioSat = await deliveriesPerSecond(sioSubs, fireSio, S.dur);
    await Promise.all([...sioSubs.map((p) => p.kill()), sio.proc.kill()]);
    rows.push({
      id: 'P4a',
      what: `p99 delivery latency at 20 refreshes/s to ${n} subscribers (hub p50 ${hubLat.p50} ms, Socket.IO p50 ${sioLat.p50} ms)`,
      hub: hubLat.p99,
      baseline: sioLat.p99,
      ratio: hubLat.p99 / sioLat.p99,
      unit: 'ms p99',
      target: '≤ ⅓ of Socket.IO',
      met: hubLat.p99 / sioLat.p99 <= 1 / 3,
      note: `${hubLat.deliveries} / ${sioLat.deliveries} deliveries recorded`,
    });
    rows.push({
      id: 'P4b',
      what: `saturated deliveries/s to ${n} subscribers`,
      hub: hubSat.rate,
      baseline: sioSat.rate,
      ratio: hubSat.rate / sioSat.rate,
      unit: 'deliveries/s',
      target: '≥ 1.2× Socket.IO',
      met: hubSat.rate / sioSat.rate >= 1.2,
    });
    rows.push({
      id: 'P5',
      what: `refresh request → last of ${n} subscribers, at 20 refreshes/s (${hubLat.events} refreshes)`,
      hub: hubLat.lastP99,
      baseline: undefined,
      ratio: undefined,
      unit: 'ms p99',
      target: '≤ 50 ms',
      met: hubLat.lastP99 <= 50,
    });
    if (rawLat)
      rows.push({
        id: 'P5 floor',
        what: `request → last of ${n} subscribers for a raw ws server that frames each event once and writes that one buffer to every TCP socket, one event at a time with nothing else in flight (${rawLat.events} events, p50 ${rawLat.p50} ms; the hub the same way: p50 ${hubIso?.p50} ms, p99 ${hubIso?.p99} ms): what this machine allows at any rate`,
        hub: rawLat.p99,
        baseline: undefined,
        ratio: undefined,
        unit: 'ms p99',
        target: 'reference',
        met: undefined,
      });
  }
  await Promise.all([...hubSubs.map((p) => p.kill()), hub.proc.kill()]);
}

// ---------------------------------------------------------------------------------------

/**
 * What the metrics cost: P1's, P2's and P3's loads against two hubs built the same way but
 * one with metrics off (`metrics: false`), rounds interleaved, medians; ratio = on / off.
 */
async function metricsCost(): Promise<void> {
  // Throughput moves with whatever else the shared machine runs; the server's own CPU per
  // request moves less, so both are reported.
  const ratioRow = (
    id: string,
    what: string,
    on: number[],
    off: number[],
    unit: string,
    cpu?: { on: number[]; off: number[] },
  ) => {
    const a = median(on);
    const b = median(off);
    const us = cpu && { on: median(cpu.on), off: median(cpu.off) };
    rows.push({
      id,
      what,
      hub: a,
      baseline: b,
      ratio: a / b,
      unit,
      target: 'within noise',
      met: undefined,
      note: `rounds on: ${on.map((v) => Math.round(v)).join(', ')}; off: ${off.map((v) => Math.round(v)).join(', ')}${us ? `; server CPU per request: on ${us.on.toFixed(1)} µs, off ${us.off.toFixed(1)} µs (${(us.on / us.off).toFixed(2)}×)` : ''}`,
    });
  };
  if (want('M1')) {
    log('M1: P1 with metrics on vs off');
    const on = await startHub({ seed: 'list', n: S.listN });
    const off = await startHub({ seed: 'list', n: S.listN, metrics: false });
    await listRps(on.url, 10, 1, 1);
    await listRps(off.url, 10, 1, 1);
    const a: number[] = [];
    const b: number[] = [];
    const cpu = { on: [] as number[], off: [] as number[] };
    for (let i = 0; i < S.rounds; i++) {
      // Alternate which goes first, so drift in the machine's load hits both alike.
      const order = i % 2 === 0 ? [on, off] : [off, on];
      for (const hub of order) {
        const r = await withServerCpu(hub.proc, () => listRps(hub.url, 10, S.dur, 100 + i));
        (hub === on ? a : b).push(r.rps);
        (hub === on ? cpu.on : cpu.off).push(r.usPerRequest);
      }
    }
    await Promise.all([on.proc.kill(), off.proc.kill()]);
    ratioRow(
      'M1',
      `P1's LIST load, ${S.listN} flavors: metrics on (hub) vs off (baseline)`,
      a,
      b,
      'req/s',
      cpu,
    );
  }
  if (want('M2')) {
    log('M2: P2 with metrics on vs off');
    const on = await startHub({ seed: 'pool', n: S.p2Flavors, file: true });
    const off = await startHub({ seed: 'pool', n: S.p2Flavors, file: true, metrics: false });
    const tokens = Array.from({ length: CONSUMERS }, (_, i) => consumerToken(i));
    const idsOn = (await on.proc.ask<{ ids: string[] }>({ type: 'ids' })).ids;
    const idsOff = (await off.proc.ask<{ ids: string[] }>({ type: 'ids' })).ids;
    const sales = (hub: typeof on, seed: number, seconds: number) =>
      saleLoad({
        url: hub.url,
        prefix: '',
        flavorIds: hub === on ? idsOn : idsOff,
        tokens,
        seed,
        seconds,
      });
    await sales(on, 1, 1);
    await sales(off, 1, 1);
    const a: number[] = [];
    const b: number[] = [];
    const cpu = { on: [] as number[], off: [] as number[] };
    for (let i = 0; i < S.rounds; i++) {
      const order = i % 2 === 0 ? [on, off] : [off, on];
      for (const hub of order) {
        const r = await withServerCpu(hub.proc, async () => {
          const res = await sales(hub, 10 + i, S.dur);
          return { rps: res.requests.average, total: res.requests.total };
        });
        (hub === on ? a : b).push(r.rps);
        (hub === on ? cpu.on : cpu.off).push(r.usPerRequest);
      }
    }
    await Promise.all([on.proc.kill(), off.proc.kill()]);
    ratioRow(
      'M2',
      "P2's reserve + purchase load: metrics on (hub) vs off (baseline)",
      a,
      b,
      'req/s',
      cpu,
    );
  }
  if (want('M3')) {
    const n = S.subs;
    log(`M3: P3 with metrics on vs off, ${n} subscribers each`);
    const a: number[] = [];
    const b: number[] = [];
    // One hub and its subscribers at a time: two sets of thousands of sockets would crowd the machine.
    for (let i = 0; i < Math.max(2, S.rounds - 2); i++) {
      for (const metrics of i % 2 === 0 ? [true, false] : [false, true]) {
        const hub = await startHub({ seed: 'broadcast', n: 1, file: true, metrics });
        const { ids } = await hub.proc.ask<{ ids: string[] }>({ type: 'ids' });
        const flavorId = ids[0] as string;
        const subs = await startSubscribers(
          {
            kind: 'hub',
            url: hub.url,
            tokens: Array.from({ length: CONSUMERS }, (_, j) => consumerToken(j)),
            flavorIds: [flavorId],
          },
          n,
          S.subProcs,
        );
        const fire = hubFire(hub.url, flavorId);
        await deliveriesPerSecond(subs, fire, 1);
        (metrics ? a : b).push((await deliveriesPerSecond(subs, fire, S.dur)).rate);
        await Promise.all([...subs.map((p) => p.kill()), hub.proc.kill()]);
      }
    }
    ratioRow(
      'M3',
      `P3's deliveries to ${n} subscribers: metrics on (hub) vs off (baseline)`,
      a,
      b,
      'deliveries/s',
    );
  }
}

async function p6(): Promise<void> {
  const n = S.p6Conns;
  log(`P6: memory per idle connection, ${n} connections (10 subscriptions each on the hub)`);
  const measure = async (server: { proc: Proc; url: string }, subs: Record<string, unknown>) => {
    // A few connections first, closed again: what the first one costs once (the hub compiles
    // a route's schemas on first use, http/lazy-compilers.ts) is start-up, not per connection.
    const warm = await startSubscribers({ ...subs, url: server.url }, 10, 1);
    await Promise.all(warm.map((g) => g.kill()));
    const before = (await server.proc.ask<{ mem: NodeJS.MemoryUsage }>({ type: 'mem' })).mem;
    const groups = await startSubscribers({ ...subs, url: server.url }, n, S.subProcs);
    // Let the connections' start-up garbage be collected and the allocator settle.
    await sleep(1500);
    const after = (await server.proc.ask<{ mem: NodeJS.MemoryUsage }>({ type: 'mem' })).mem;
    await Promise.all(groups.map((g) => g.kill()));
    return { rss: (after.rss - before.rss) / n, heap: (after.heapUsed - before.heapUsed) / n };
  };
  // A fresh process per round (freed memory does not return to the OS), hub and raw ws
  // interleaved; medians of the rounds.
  const hubRounds: Array<{ rss: number; heap: number }> = [];
  const rawRounds: Array<{ rss: number; heap: number }> = [];
  for (let i = 0; i < S.p6Rounds; i++) {
    const hub = await startHub({ seed: 'broadcast', n: 100 }, true);
    const { ids } = await hub.proc.ask<{ ids: string[] }>({ type: 'ids' });
    hubRounds.push(
      await measure(hub, {
        kind: 'hub',
        tokens: Array.from({ length: CONSUMERS }, (_, i) => consumerToken(i)),
        flavorIds: ids,
        perConnection: 10,
      }),
    );
    await hub.proc.kill();
    const raw = await startBaseline({ kind: 'ws' }, true);
    rawRounds.push(await measure(raw, { kind: 'ws' }));
    await raw.proc.kill();
  }
  const h = {
    rss: median(hubRounds.map((r) => r.rss)),
    heap: median(hubRounds.map((r) => r.heap)),
  };
  const b = {
    rss: median(rawRounds.map((r) => r.rss)),
    heap: median(rawRounds.map((r) => r.heap)),
  };
  rows.push({
    id: 'P6',
    what: `memory per idle connection (RSS growth / ${n}, median of ${S.p6Rounds} rounds); hub with 10 subscriptions each (JS heap ${(h.heap / 1024).toFixed(1)} KiB vs ${(b.heap / 1024).toFixed(1)} KiB)`,
    hub: h.rss / 1024,
    baseline: b.rss / 1024,
    ratio: h.rss / b.rss,
    unit: 'KiB/conn',
    target: '≤ 1.25× raw ws',
    met: h.rss / b.rss <= 1.25,
  });
}

// ---------------------------------------------------------------------------------------

function fmt(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return '—';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/**
 * Rows of targets that another command measures (the restart needs a 1.5 GiB store filled
 * first, too slow for this run): a full run rewrites BENCHMARKS.md, and keeps these rows of
 * the file it replaces rather than dropping them.
 */
const CARRIED = ['restart'];

function carriedRows(): string[] {
  if (!existsSync('BENCHMARKS.md')) return [];
  return readFileSync('BENCHMARKS.md', 'utf8')
    .split('\n')
    .filter((line) => CARRIED.some((id) => line.startsWith(`| ${id} |`)));
}

function table(): string {
  const head = '| id | measure | hub | baseline | ratio | unit | target | met |';
  const sep = '|---|---|---|---|---|---|---|---|';
  const lines = rows.map(
    (r) =>
      `| ${r.id} | ${r.what}${r.note ? ` — ${r.note}` : ''} | ${fmt(r.hub)} | ${fmt(r.baseline)} | ${r.ratio === undefined ? '—' : `${fmt(r.ratio)}×`} | ${r.unit} | ${r.target} | ${r.met === undefined ? '—' : r.met ? 'yes' : '**no**'} |`,
  );
  return [head, sep, ...lines].join('\n');
}

log('building dist/ (tsc)');
buildDist();

const started = Date.now();
const kit: Kit = {
  quick: QUICK,
  rows,
  log,
  consumers: CONSUMERS,
  consumerToken,
  startHub: (opts) => startHub(opts),
  startSubscribers,
  hubFire,
  latencyRun,
  listRps,
};
const steps: Array<[string[], () => Promise<void>]> = [
  [['P1'], p1],
  // P1pg is its own step: it needs PostgreSQL and doubles an `--only=P1` run.
  [['P1pg'], () => p1pg(kit, QUICK ? 500 : S.listN, QUICK ? 1 : S.rounds, QUICK ? 1 : S.dur)],
  [['P7', 'P8'], p7p8],
  [['P2'], p2],
  [
    ['P9'],
    () =>
      p9(kit, {
        rounds: S.p9Rounds,
        dur: S.p9Dur,
        flavors: S.p9Flavors,
        warm: QUICK ? 0 : 1,
        lagDur: S.lagDur,
      }),
  ],
  [['P10'], () => p10(kit, { subs: S.p10Subs, subProcs: 1, rounds: S.pgRounds, dur: S.p10Dur })],
  [['P11'], () => p11(kit, S.p11Rounds)],
  [['P3', 'P3lat', 'P4', 'P5'], p3p4p5],
  [['P3pings'], () => pings(kit)],
  [['P6'], p6],
  [['M1', 'M2', 'M3'], metricsCost],
];
try {
  for (const [ids, step] of steps) {
    if (!ids.some(want)) continue;
    const t0 = Date.now();
    await step();
    log(`${ids.join('/')}: ${Math.round((Date.now() - t0) / 1000)} s`);
  }
} finally {
  // The throwaway PostgreSQL cluster, if a step started one, also when a step failed.
  await stopPostgres();
}

const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
const out = table();
console.log(`\n${out}\n\n${machine}; ${command}; ${Math.round((Date.now() - started) / 1000)} s`);
mkdirSync('bench-output', { recursive: true });
writeFileSync(
  'bench-output/results.json',
  `${JSON.stringify({ date: new Date().toISOString(), machine, command, quick: QUICK, rows }, null, 2)}\n`,
);
if (!QUICK && !ONLY) {
  const kept = carriedRows();
  writeFileSync(
    'BENCHMARKS.md',
    [
      '# Benchmarks',
      '',
      `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}, with \`${command}\` (${Math.round((Date.now() - started) / 1000)} s).`,
      'Each figure is the median of interleaved rounds against a baseline measured in the same run;',
      'servers and load clients run in separate processes on the same 2-core machine (see scripts/bench/).',
      '',
      out,
      '',
      ...(kept.length > 0
        ? [
            'Measured by other commands, not by this one (the restart row: `npm run bench:restart`),',
            'and kept from the file this run replaced:',
            '',
            '| id | measure | hub | baseline | ratio | unit | target | met |',
            '|---|---|---|---|---|---|---|---|',
            ...kept,
            '',
          ]
        : []),
      'How each is measured: see the header of `scripts/bench/run.ts` and docs/benchmarks.md.',
      '',
    ].join('\n'),
  );
}
process.exit(0);
