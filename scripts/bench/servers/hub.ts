/**
 * The hub under benchmark, in its own process: buildApp exactly as production, seeded through
 * the catalog, reporting its address and answering memory/CPU probes over IPC.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { join } from 'node:path';
import type * as AppModule from '../../../src/app.js';
import type { Principal } from '../../../src/domain/principal.js';
import type { StoredFlavor } from '../../../src/store/store.js';
import type { FlavorPublish, TokenEntry } from '../../../src/types/wire.js';
import { broadcastFlavor, listFlavor, poolFlavor, prng } from '../lib/catalog.js';
import { serve } from '../lib/proc.js';
import { profileMessages } from '../lib/window-profiler.js';

// The hub as it ships: the tsc build in dist/ (run.ts builds it first), not tsx-transpiled sources.
const { buildApp } = (await import(
  new URL('../../../dist/src/app.js', import.meta.url).href
)) as typeof AppModule;

const opts = JSON.parse(process.argv[2] ?? '{}') as {
  seed: 'list' | 'pool' | 'broadcast';
  /** Flavors to publish at start (0: another instance on the same database did). */
  n: number;
  file?: boolean;
  /** A postgres:// URL: the hub runs on that database (one of several instances, maybe). */
  pg?: string;
  consumers?: number;
  /** Metrics off, to measure what they cost (run.ts M1–M3). */
  metrics?: boolean;
  /** LIST answers kept between catalog changes (default on, as shipped); off for P1 uncached. */
  listCache?: boolean;
  /** Connections to PostgreSQL (--pg-pool; the hub's default when left out). */
  pgPool?: number;
  /** Protocol pings' interval, ms (0: none); the hub's default when left out. */
  pingMs?: number;
};
const dir = mkdtempSync(join(tmpdir(), 'rear-bench-'));
const consumers = opts.consumers ?? 200;
const tokens: TokenEntry[] = [
  {
    token: 'bench-provider',
    role: 'provider',
    identity: { Domain: 'bench', NodeID: 'bench-provider', IP: '127.0.0.1' },
  },
  ...Array.from({ length: consumers }, (_, i): TokenEntry => ({
    token: `bench-consumer-${i}`,
    role: 'consumer',
    identity: { Domain: 'bench', NodeID: `bench-consumer-${i}`, IP: '127.0.0.1' },
  })),
];
const app = await buildApp({
  db: opts.pg ?? (opts.file ? join(dir, 'hub.db') : ':memory:'),
  tokens,
  ttpSeconds: 600,
  rateLimit: { perSecond: 0 },
  ws: {
    maxSubscriptionsPerConnection: 100,
    ...(opts.pingMs !== undefined ? { pingIntervalMs: opts.pingMs } : {}),
  },
  metrics: opts.metrics ?? true,
  ...(opts.listCache === false ? { listCacheBytes: 0 } : {}),
  ...(opts.pgPool !== undefined ? { pgPoolSize: opts.pgPool } : {}),
});
const provider: Principal = { role: 'provider', identity: tokens[0]!.identity };
const r = prng(42);
const ids: string[] = [];
const make = (i: number): FlavorPublish =>
  opts.seed === 'list' ? listFlavor(r, i) : opts.seed === 'pool' ? poolFlavor() : broadcastFlavor();
// On PostgreSQL each publish is a transaction waiting for a pooled connection: fewer at once.
const step = opts.pg ? 50 : 1000;
for (let i = 0; i < opts.n; i += step) {
  const batch = await Promise.all(
    Array.from({ length: Math.min(step, opts.n - i) }, (_, j) =>
      app.market.offers.publish(provider, make(i + j)),
    ),
  );
  for (const f of batch) ids.push(f.flavorId);
}
const url = await app.listen({ host: '127.0.0.1', port: 0 });
// As `rear-hub serve` does a second after listening (cli/serve.ts): the route schemas not
// used yet compile now, so no measured window pays their first use.
await app.compileSchemas();
// Profiles only the window the orchestrator asks for (profile.ts): the load, not the start-up.
const profiling = profileMessages();
/** The event loop's delays while a window is open (stall-start … stall-stop): its stalls. */
let delays: IntervalHistogram | undefined;

serve(async (msg) => {
  const profiled = profiling(msg);
  if (profiled) return profiled;
  switch (msg.type) {
    case 'mem':
      (globalThis as { gc?: () => void }).gc?.();
      await new Promise((res) => setTimeout(res, 200));
      (globalThis as { gc?: () => void }).gc?.();
      return { mem: process.memoryUsage() };
    case 'cpu':
      return { cpu: process.cpuUsage(), at: performance.now() };
    case 'sample':
      return { sample: await saleSample() };
    case 'ids':
      return { ids: ids.slice(0, Number(msg.count ?? ids.length)) };
    case 'stall-start':
      delays?.disable();
      delays = monitorEventLoopDelay({ resolution: 5 });
      delays.enable();
      return {};
    case 'stall-stop': {
      delays?.disable();
      const ms = (ns: number) => ns / 1e6;
      const out = delays
        ? { p50: ms(delays.percentile(50)), p99: ms(delays.percentile(99)), max: ms(delays.max) }
        : undefined;
      delays = undefined;
      return { delays: out };
    }
    case 'seq':
      // The newest event this instance has applied to its catalog copy and bus.
      return { seq: app.market.bus.lastSeq };
    default:
      return {};
  }
});
process.send?.({ type: 'ready', url });

/**
 * The rows the hub's store holds for its latest sale of a flavor still on offer, read through
 * the store interface: the sale floor (servers/baselines.ts) writes rows of exactly these sizes.
 */
async function saleSample() {
  const { store } = app.market;
  const flavors: StoredFlavor[] = [];
  const { firstSeq } = await store.load((f) =>
    flavors.push({
      ...f,
      json:
        typeof f.json === 'string' ? f.json : f.json.chunk.toString('utf8', f.json.from, f.json.to),
    }),
  );
  const events = await store.eventsAfter(firstSeq - 1, Number.MAX_SAFE_INTEGER);
  const live = new Map(flavors.map((f) => [f.flavorId, f]));
  const sold = [...events].reverse().find((e) => e.buyerId !== undefined && live.has(e.flavorId));
  if (!sold) throw new Error('no sale to sample yet');
  const { TransactionID } = JSON.parse(sold.wire) as { TransactionID: string };
  const [transaction, contract] = await Promise.all([
    store.transaction(TransactionID),
    store.contractByTransaction(TransactionID),
  ]);
  return {
    transaction: { ...transaction, status: 'reserved' },
    contract,
    flavor: live.get(sold.flavorId),
    events: events.filter((e) => e.flavorId === sold.flavorId).slice(-2),
  };
}
process.on('SIGTERM', () => {
  void app.close().then(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
});
