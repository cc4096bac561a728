/**
 * npm run bench:instructions [-- --requests=2000] [-- --hub-only] [-- --hub='{"metrics":false}']
 *   [-- --keep=DIR] (keeps the callgrind files, per thread, for callgrind_annotate)
 *   [-- --list] (P1's load instead: the hub with and without LIST's kept answers, bare fastify)
 *
 * CPU instructions per request of P2's load (reserve + purchase, 8 connections), for the hub
 * and for its sale floor (servers/baselines.ts), counted by valgrind's callgrind. Instructions,
 * not seconds: the count does not move with whatever else this shared two-core machine is
 * doing, so it tells whether a change to the sale path made it cheaper when req/s cannot
 * (on a loaded machine P2's rounds swing by ±30 %). It is not a speed: a thread-pool
 * signature costs about as many instructions as one on the event loop, but runs beside it.
 *
 * Each server runs under callgrind with one count per thread. After a warm-up its counters are
 * zeroed (callgrind_control -z), the requests are sent, and the counters dumped (-d): the main
 * thread (the event loop, which bounds P2's throughput) is reported apart from the others (the
 * SQLite writer, the signing thread, V8's helpers), and V8's optimizing compiler apart from all
 * of them: after a warm-up this short it is still compiling, so it measures start-up, not
 * requests (three fifths of the hub's "other threads" and half of the floor's before it was
 * split out).
 * Valgrind runs code about 50× slower: a run takes a few minutes. Needs valgrind (Debian's
 * package).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type autocannon from 'autocannon';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDist, spawnProc, type Proc } from './lib/proc.js';
import { hubAnswers, listLoad } from './lib/lists.js';
import { numberArg } from './lib/args.js';
import { saleLoad } from './lib/sales.js';

const REQUESTS = numberArg('requests', 2000);
const WARMUP = numberArg('warmup', 1000);
const CONNECTIONS = 8;
/** Counts the hub alone (an experiment's A/B), and options merged into servers/hub.ts's. */
const HUB_ONLY = process.argv.includes('--hub-only');
/** P1's load instead of P2's: the hub with and without LIST's kept answers, and bare fastify. */
const LIST = process.argv.includes('--list');
/** Keeps the callgrind files in this directory (for callgrind_annotate) instead of deleting them. */
const KEEP = process.argv.find((x) => x.startsWith('--keep='))?.slice('--keep='.length);
const HUB_OPTS = JSON.parse(
  process.argv.find((x) => x.startsWith('--hub='))?.slice('--hub='.length) ?? '{}',
) as Record<string, unknown>;

buildDist();
const dir = mkdtempSync(join(tmpdir(), 'rear-instructions-'));
const callgrind = (name: string) => [
  'valgrind',
  '--tool=callgrind',
  '-q',
  '--separate-threads=yes',
  `--callgrind-out-file=${join(dir, `${name}.%p`)}`,
];
const tokens = Array.from({ length: 200 }, (_, i) => `bench-consumer-${i}`);

interface Count {
  main: number;
  /** Every other thread, V8's optimizing compiler left out (see `compile`). */
  others: number;
  /**
   * Of `others`: the contracts' signatures (the hub's signing thread, or libuv's thread pool
   * where a build signs there) and V8's helpers (GC).
   */
  pool: number;
  v8: number;
  /**
   * V8's optimizing compiler on its helper threads. A warm-up of a few thousand requests under
   * valgrind leaves it compiling through the counted window, more for the hub's larger code
   * than for the floor's: counted apart, it is start-up, not a cost per request.
   */
  compile: number;
  requests: number;
}

type Load = (amount: number, seed: number) => Promise<autocannon.Result>;

/** P2's load: reserve + purchase, 8 connections. */
const sales =
  (url: string, ids: string[]): Load =>
  (amount, seed) =>
    saleLoad({
      url,
      flavorIds: ids,
      tokens,
      seed,
      seconds: 3600,
      amount,
      connections: CONNECTIONS,
    });

/** P1's load: LIST with a random 3-field selector. */
const lists =
  (url: string): Load =>
  (amount, seed) =>
    listLoad({
      url,
      token: tokens[0] as string,
      connections: 10,
      seconds: 3600,
      amount,
      seed,
    });

/** Sends `requests` of a load between a zeroing and a dump of the server's counters. */
async function count(proc: Proc, name: string, load: Load): Promise<Count> {
  await load(WARMUP, 1);
  const pid = String(proc.child.pid);
  execFileSync('callgrind_control', ['-z', pid], { stdio: 'ignore' });
  const res = await load(REQUESTS, 2);
  execFileSync('callgrind_control', ['-d', pid], { stdio: 'ignore' });
  // The dump writes one file per thread: <name>.<pid>.<dump>-<thread>; thread 01 is main.
  const files = readdirSync(dir).filter((f) => f.startsWith(`${name}.${pid}.1-`));
  const c: Count = { main: 0, others: 0, pool: 0, v8: 0, compile: 0, requests: 0 };
  for (const f of files) {
    const path = join(dir, f);
    const text = readFileSync(path, 'utf8');
    const line = text.split('\n').find((l) => l.startsWith('summary:') || l.startsWith('totals:'));
    const n = Number(line?.split(/\s+/)[1] ?? 0);
    if (f.endsWith('-01')) {
      c.main += n;
    } else if (text.includes('PlatformWorkerThread')) {
      const compile = inclusive(path, 'OptimizingCompileDispatcher::CompileTask::RunInternal');
      c.compile += compile;
      c.v8 += n - compile;
      c.others += n - compile;
    } else {
      if (text.includes('ThreadPoolWork::ScheduleWork') || /ed25519/i.test(text)) c.pool += n;
      c.others += n;
    }
  }
  if (res.non2xx > 0) throw new Error(`${name}: ${res.non2xx} non-2xx answers`);
  return { ...c, requests: res.requests.total };
}

try {
  if (LIST) await listCounts();
  else await saleCounts();
} finally {
  if (KEEP) cpSync(dir, KEEP, { recursive: true });
  rmSync(dir, { recursive: true, force: true });
}

async function saleCounts(): Promise<void> {
  console.log(`[instructions] hub under callgrind (${REQUESTS} requests after ${WARMUP})`);
  const hub = spawnProc(
    'servers/hub.ts',
    [JSON.stringify({ seed: 'pool', n: 500, file: true, consumers: 200, ...HUB_OPTS })],
    [],
    callgrind('hub'),
  );
  const { url } = await hub.once<{ url: string }>('ready', 900_000);
  const { ids } = await hub.ask<{ ids: string[] }>({ type: 'ids' });
  const h = await count(hub, 'hub', sales(url, ids));
  if (HUB_ONLY) {
    await hub.kill();
    console.log(
      `\nhub alone, instructions per request: main thread ${k(h.main / h.requests)}, other threads ${k(h.others / h.requests)} (${h.requests} requests, options ${JSON.stringify(HUB_OPTS)})`,
    );
  } else {
    await compare(h, hub, ids);
  }
}

/**
 * P1's load (LIST, 10,000 flavors) on the hub with LIST's kept answers, on the hub without
 * them (`--list-cache 0`), and on bare fastify answering each query with the hub's own answer
 * to it (run.ts's P1 baseline).
 */
async function listCounts(): Promise<void> {
  const counted: Array<[string, Count]> = [];
  let answers: Record<string, string> | undefined;
  for (const [name, listCache] of [
    ['hub', true],
    ['hub-uncached', false],
  ] as const) {
    console.log(`[instructions] ${name} under callgrind (${REQUESTS} LISTs after ${WARMUP})`);
    const hub = spawnProc(
      'servers/hub.ts',
      [JSON.stringify({ seed: 'list', n: 10_000, consumers: 200, listCache, ...HUB_OPTS })],
      [],
      callgrind(name),
    );
    const { url } = await hub.once<{ url: string }>('ready', 900_000);
    counted.push([name, await count(hub, name, lists(url))]);
    answers ??= await hubAnswers(url, tokens[0] as string);
    await hub.kill();
  }
  const answersFile = join(dir, 'answers.json');
  writeFileSync(answersFile, JSON.stringify(answers));
  console.log('[instructions] bare fastify under callgrind');
  const base = spawnProc(
    'servers/baselines.ts',
    [JSON.stringify({ kind: 'fastify', answersFile })],
    [],
    callgrind('base'),
  );
  const { url } = await base.once<{ url: string }>('ready', 900_000);
  const b = await count(base, 'base', lists(url));
  await base.kill();
  const per = (c: Count) => (c.main + c.others) / c.requests;
  console.log('\n| per LIST request | main thread | other threads | all ÷ bare fastify |');
  console.log('|---|---|---|---|');
  for (const [name, c] of [...counted, ['bare fastify', b] as const])
    console.log(
      `| ${name} | ${k(c.main / c.requests)} | ${k(c.others / c.requests)} | ${(per(c) / per(b)).toFixed(2)}× |`,
    );
  console.log(
    `\ninstructions per request, ${REQUESTS} LISTs of P1's load (10 connections) after ${WARMUP} of warm-up; callgrind, node ${process.version}`,
  );
}

/** A function's inclusive instructions in one thread's callgrind file (0 if it never ran). */
function inclusive(file: string, fn: string): number {
  const out = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const line = out.split('\n').find((l) => l.includes(fn));
  return line ? Number((line.trim().split(/\s+/)[0] ?? '0').replace(/,/g, '')) : 0;
}

function k(n: number): string {
  return `${Math.round(n / 1000).toLocaleString('en-US')}k`;
}

/** Counts the sale floor on the rows of one of the hub's sales, and prints both. */
async function compare(h: Count, hub: Proc, ids: string[]): Promise<void> {
  const { sample } = await hub.ask<{ sample: unknown }>({ type: 'sample' }, 600_000);
  await hub.kill();

  console.log('[instructions] sale floor under callgrind');
  const floor = spawnProc(
    'servers/baselines.ts',
    [JSON.stringify({ kind: 'fastify', db: join(dir, 'floor.db'), sale: sample })],
    [],
    callgrind('floor'),
  );
  const f = await count(
    floor,
    'floor',
    sales((await floor.once<{ url: string }>('ready', 900_000)).url, ids),
  );
  await floor.kill();

  const per = (c: Count, key: 'main' | 'others' | 'pool' | 'v8' | 'compile') => c[key] / c.requests;
  console.log('\n| per request | hub | sale floor | hub ÷ floor |');
  console.log('|---|---|---|---|');
  const row = (label: string, a: number, b: number) =>
    console.log(`| ${label} | ${k(a)} | ${k(b)} | ${(a / b).toFixed(2)}× |`);
  row('main thread (event loop)', per(h, 'main'), per(f, 'main'));
  row('other threads', per(h, 'others'), per(f, 'others'));
  const rest = (c: Count) => (c.others - c.pool - c.v8) / c.requests;
  row('— the SQLite writer (and any other thread)', rest(h), rest(f));
  row("— the signatures (signing thread, or libuv's pool)", per(h, 'pool'), per(f, 'pool'));
  row("— V8's helpers (garbage collection)", per(h, 'v8'), per(f, 'v8'));
  const all = (c: Count) => (c.main + c.others) / c.requests;
  row('all threads', all(h), all(f));
  console.log(
    `\nLeft out above: V8's optimizing compiler, still compiling after the warm-up: hub ${k(per(h, 'compile'))}, floor ${k(per(f, 'compile'))} per request of the window.`,
  );
  console.log(
    `\ninstructions per request, ${h.requests} / ${f.requests} requests of P2's load (${CONNECTIONS} connections) after ${WARMUP} of warm-up; callgrind, node ${process.version}`,
  );
}
