/**
 * npm run bench:domain [-- --sales=40000] [-- --rounds=3] [-- --alloc | --live | --promoted]
 *
 * The sale path's domain work alone: P2's reserve + purchase (64 at a time, random partitions
 * of 500 pooled flavors, 200 buyers) called on the market of a hub built as production builds
 * it, with no HTTP, no store and no signature: the store's commits are answered at once and
 * each contract gets a signature-shaped stand-in. What is left runs on the event loop, so a
 * round's wall time is that work: µs per sale, and the part of it the young generation's
 * collections (scavenges) took, read from the collector's own pause entries. Under P2's load
 * the same work, among 64 requests' HTTP objects and with the writer and signing threads
 * beside it, takes about twice as long (docs/benchmarks.md, sixteenth session). On this shared
 * machine rounds still move by 15 % and more (the scavenges' pauses most), so compare two
 * builds in alternated runs. With `--alloc`: bytes allocated per sale by function and file
 * (sampled, collected ones included), which sets how often a scavenge runs; with `--live`,
 * only what is still alive at the end (what a sale leaves for the collector to copy); with
 * `--promoted`, what outlived the young generation (alive at the end, or freed only by a major
 * collection): what the scavenges copied.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as AppModule from '../../src/app.js';
import type { Principal } from '../../src/domain/principal.js';
import type { Store } from '../../src/store/store.js';
import { allocationTables, type HeapNode } from './lib/alloc-tables.js';
import { numberArg } from './lib/args.js';
import { buildDist } from './lib/proc.js';
import { poolFlavor, prng } from './lib/catalog.js';
import { median } from './lib/histogram.js';

const SALES = numberArg('sales', 40_000);
const ROUNDS = numberArg('rounds', 3);
const FLAVORS = 500;
const BUYERS = 200;
const IN_FLIGHT = 64;
/** Only what the sales leave alive (the catalog's new entries, the history): what the collector copies. */
const LIVE = process.argv.includes('--live');
/** What outlived the young generation, freed since or not. */
const PROMOTED = process.argv.includes('--promoted');

buildDist();
const { buildApp } = (await import(
  new URL('../../dist/src/app.js', import.meta.url).href
)) as typeof AppModule;
const identity = (id: string) => ({ Domain: 'bench', NodeID: id, IP: '127.0.0.1' });
const dir = mkdtempSync(join(tmpdir(), 'rear-bench-domain-'));
const app = await buildApp({
  db: join(dir, 'hub.db'),
  tokens: [
    { token: 'bench-provider', role: 'provider', identity: identity('bench-provider') },
    ...Array.from({ length: BUYERS }, (_, i) => ({
      token: `bench-consumer-${i}`,
      role: 'consumer' as const,
      identity: identity(`bench-consumer-${i}`),
    })),
  ],
  ttpSeconds: 600,
  rateLimit: { perSecond: 0 },
});
const { market } = app;
const provider: Principal = { role: 'provider', identity: identity('bench-provider') };
const ids: string[] = [];
for (let i = 0; i < FLAVORS; i++)
  ids.push((await market.offers.publish(provider, poolFlavor())).flavorId);

// From here the store (the embedded one: the journal's `commit` is all the sale path calls of
// it) answers every commit at once, writing nothing, and signing returns a stand-in of a
// compact JWS's shape and length: the I/O and the signature, which the sale floor pays too,
// are left out of the count.
(market.store as Store).commit = () => Promise.resolve();
const { signer } = market;
const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: 'bench' })).toString('base64url');
const signature = 'x'.repeat(86);
signer.signAsync = (payload: string) =>
  Promise.resolve(`${header}.${Buffer.from(payload).toString('base64url')}.${signature}`);

// The requests, made before the run (as P2's load generator does): a random buyer reserves a
// random 1–4 cpu partition of a random flavor, then purchases it.
const r = prng(1);
const plan = Array.from({ length: 4096 }, () => {
  const cpu = String(1 + Math.floor(r() * 4));
  return {
    buyer: {
      role: 'consumer',
      identity: identity(`bench-consumer-${Math.floor(r() * BUYERS)}`),
    } as Principal,
    // Parsed per request, as the route's body is.
    body: JSON.stringify({
      FlavorID: ids[Math.floor(r() * FLAVORS)],
      Configuration: { type: 'k8slice', data: { cpu, memory: `${cpu}Gi`, pods: cpu } },
    }),
  };
});
let next = 0;
const { reservations } = market;
async function sell(): Promise<void> {
  const step = plan[next++ & 4095] as (typeof plan)[number];
  const tx = await reservations.reserve(step.buyer, JSON.parse(step.body), {});
  reservations.transactionJson(tx);
  await reservations.purchase(step.buyer, tx.TransactionID);
}
async function run(sales: number): Promise<void> {
  let left = sales;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (left-- > 0) await sell();
    }),
  );
}

await run(20_000); // warm-up: the JIT, the holds' deadlines, the catalog's indexes
if (process.argv.includes('--alloc') || LIVE || PROMOTED) {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: !LIVE,
    includeObjectsCollectedByMinorGC: !LIVE && !PROMOTED,
  });
  await run(SALES);
  const { profile } = await session.post('HeapProfiler.stopSampling');
  session.disconnect();
  allocationTables(
    profile.head as HeapNode,
    SALES,
    'sale',
    LIVE
      ? 'allocated and still alive'
      : PROMOTED
        ? 'that outlived the young generation'
        : 'allocated',
  );
} else {
  // The collector's pauses on this thread, by kind: a scavenge's cost follows what survives
  // it (the sales in flight, the catalog entries and events made since the last one).
  const pauses: Array<{ at: number; ms: number; minor: boolean }> = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as Array<PerformanceEntry & { detail?: { kind?: number } }>)
      pauses.push({
        at: e.startTime,
        ms: e.duration,
        minor: e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR,
      });
  });
  observer.observe({ entryTypes: ['gc'] });
  const each: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    await run(SALES);
    const t1 = performance.now();
    // The observer hears of collections a little after them.
    await new Promise((res) => setTimeout(res, 100));
    const round = pauses.filter((p) => p.at >= t0 && p.at < t1);
    const sum = (ps: typeof round) => (ps.reduce((t, p) => t + p.ms, 0) * 1000) / SALES;
    const minor = round.filter((p) => p.minor);
    const us = ((t1 - t0) * 1000) / SALES;
    each.push(us);
    console.log(
      `round ${i + 1}: ${us.toFixed(1)} µs per sale; scavenges: one per ${Math.round(SALES / Math.max(1, minor.length))} sales, ${sum(minor).toFixed(1)} µs per sale; other collections: ${round.length - minor.length}, ${sum(round.filter((p) => !p.minor)).toFixed(1)} µs per sale`,
    );
  }
  observer.disconnect();
  console.log(`median ${median(each).toFixed(1)} µs per sale`);
}
await app.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
