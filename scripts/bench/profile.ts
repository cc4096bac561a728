/**
 * Profiles the hub under a benchmark's load and prints where its main thread spends the time:
 * `tsx scripts/bench/profile.ts list|sale|sale-floor|push|push-raw [dir] [--seconds=N]` (P1's
 * random-selector LIST, P2's reserve + purchase (on the hub, or on its sale floor), P3's refreshes to 5,000 subscribers, or the
 * same load on P3's best raw ws baseline). Only the load's window is profiled (lib/window-profiler.ts), after
 * a warm-up, so start-up does not crowd the table; for push, from once the 5,000 subscribers
 * are connected to before they leave. Prints the functions with the most self
 * time, then the most inclusive time (a function's own samples and its callees', counted once
 * per stack), with µs per request (per delivery for push). The .cpuprofile stays in dir for a flame graph (e.g.
 * speedscope). On a busy machine the profile over-weights system calls and thread-pool
 * hand-offs: a descheduled thread is sampled where it waits. With `--alloc`, the window's
 * allocations instead (sampled, collected ones included): bytes per request by function and by
 * file, which is what sets how often the young generation is scavenged. With `--promoted`, only
 * the allocations that outlived the young generation (or were still young at the end): what
 * each scavenge copies, and so how long it pauses.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon, { type Request as AcRequest } from 'autocannon';
import { allocationTables, type HeapNode } from './lib/alloc-tables.js';
import { prng, randomSelectorQuery } from './lib/catalog.js';
import { buildDist, spawnProc, threadCpu } from './lib/proc.js';
import type { ProfileKind } from './lib/window-profiler.js';
import { saleLoad } from './lib/sales.js';

buildDist();
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const scenario = args[0] ?? 'list';
const dir = args[1] ?? 'bench-output/profiles';
/** An allocation profile instead of a CPU one: bytes allocated (or kept) per request, by function. */
const kind: ProfileKind = process.argv.includes('--promoted')
  ? 'promoted'
  : process.argv.includes('--alloc')
    ? 'alloc'
    : 'cpu';
const seconds = Number(
  process.argv.find((a) => a.startsWith('--seconds='))?.slice('--seconds='.length) ?? 5,
);
mkdirSync(dir, { recursive: true });
const seed =
  scenario === 'sale' || scenario === 'sale-floor'
    ? { seed: 'pool', n: 500, file: true }
    : scenario === 'push'
      ? { seed: 'broadcast', n: 1, file: true }
      : { seed: 'list', n: 10_000 };
const tokens = Array.from({ length: 200 }, (_, i) => `bench-consumer-${i}`);
let proc = spawnProc(scenario === 'push-raw' ? 'servers/baselines.ts' : 'servers/hub.ts', [
  JSON.stringify(scenario === 'push-raw' ? { kind: 'ws' } : seed),
]);
let { url } = await proc.once<{ url: string }>('ready');
const r = prng(1);
const ids = scenario === 'push-raw' ? [] : (await proc.ask<{ ids: string[] }>({ type: 'ids' })).ids;
if (scenario === 'sale-floor') {
  // P2's sale floor (servers/baselines.ts saleFloor), copying a sale the hub made, as P2 does.
  await saleLoad({ url, flavorIds: ids, tokens, seed: 1, seconds: 1 });
  const { sample } = await proc.ask<{ sample: unknown }>({ type: 'sample' });
  await proc.kill();
  const db = join(mkdtempSync(join(tmpdir(), 'rear-profile-floor-')), 'floor.db');
  proc = spawnProc('servers/baselines.ts', [JSON.stringify({ kind: 'fastify', db, sale: sample })]);
  ({ url } = await proc.once<{ url: string }>('ready'));
}
/** Runs the scenario's load for s seconds; returns what it counts (requests or deliveries). */
const unit = scenario.startsWith('push') ? 'delivery' : 'request';
/** The window's ends: the profile starts once the load is set up and stops before it is torn down. */
interface ProfileWindow {
  ready(): Promise<void>;
  done(): Promise<void>;
}
const noWindow: ProfileWindow = { ready: async () => {}, done: async () => {} };
const load = async (s: number, w: ProfileWindow = noWindow): Promise<number> => {
  if (scenario === 'push' || scenario === 'push-raw')
    return pushLoad(url, scenario === 'push' ? ids[0] : undefined, s, w);
  await w.ready();
  try {
    return await requestLoad(s);
  } finally {
    await w.done();
  }
};
const requestLoad = async (s: number): Promise<number> => {
  if (scenario === 'sale' || scenario === 'sale-floor')
    return (await saleLoad({ url, flavorIds: ids, tokens, seed: 1, seconds: s })).requests.total;
  const res = await autocannon({
    url,
    connections: 10,
    duration: s,
    requests: [
      {
        setupRequest: (req: AcRequest): AcRequest => ({
          ...req,
          path: `/api/v2/flavors/k8slices?${randomSelectorQuery(r)}`,
          headers: { authorization: 'Bearer bench-consumer-0' },
        }),
      },
    ],
  });
  return res.requests.total;
};
await load(2); // warm-up: the JIT, the pools, the first sales
// For push, the window opens once its 5,000 subscribers are connected and closes before they
// leave: their connections, SUBSCRIBEs and closes stay out of the profile.
let file = '';
const requests = await load(seconds, {
  ready: async () => {
    await proc.ask({ type: 'profile-start', kind });
  },
  done: async () => {
    ({ file } = await proc.ask<{ file: string }>({ type: 'profile-stop', dir }));
  },
});
await proc.kill();
if (kind !== 'cpu') {
  const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };
  allocationTables(
    head,
    requests,
    unit,
    kind === 'alloc' ? 'allocated' : 'that outlived the young generation',
  );
  console.log(`\nprofile: ${file}`);
  process.exit(0);
}

const prof = JSON.parse(readFileSync(file, 'utf8')) as {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }>;
  samples: number[];
  startTime: number;
  endTime: number;
};
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (id: number): string => {
  const n = byId.get(id);
  if (!n) return '?';
  const f = n.callFrame;
  return `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber}`;
};
const self = new Map<string, number>();
const total = new Map<string, number>();
for (const s of prof.samples) {
  const own = name(s);
  self.set(own, (self.get(own) ?? 0) + 1);
  const seen = new Set<string>();
  for (let id: number | undefined = s; id !== undefined; id = parent.get(id)) {
    const k = name(id);
    if (seen.has(k)) continue;
    seen.add(k);
    total.set(k, (total.get(k) ?? 0) + 1);
  }
}
const samples = prof.samples.length;
const us = (prof.endTime - prof.startTime) / samples; // µs per sample
const idle =
  self.get(name(prof.nodes.find((n) => n.callFrame.functionName === '(idle)')?.id ?? -1)) ?? 0;
console.log(
  `${requests} ${unit === 'delivery' ? 'deliveries' : 'requests'} in ${seconds} s; main thread busy ${(((samples - idle) * us) / requests).toFixed(1)} µs per ${unit} (${(100 * (1 - idle / samples)).toFixed(0)} % of the window)`,
);
const table = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}: % of samples, µs per ${unit}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, 40))
    console.log(
      ((v / samples) * 100).toFixed(1).padStart(5),
      ((v * us) / requests).toFixed(1).padStart(6),
      k,
    );
};
table('self', self);
table('inclusive', total);
console.log(`\nprofile: ${file}`);

/** P3's load: 5,000 subscribers in two processes, refreshes 4 in flight; returns deliveries. */
async function pushLoad(
  url: string,
  flavorId: string | undefined,
  seconds: number,
  w: ProfileWindow,
): Promise<number> {
  const groups = [0, 1].map(() =>
    spawnProc('clients/subscribers.ts', [
      JSON.stringify(
        flavorId
          ? {
              kind: 'hub',
              url,
              n: 2500,
              tokens: Array.from({ length: 200 }, (_, i) => `bench-consumer-${i}`),
              flavorIds: [flavorId],
            }
          : { kind: 'ws', url, n: 2500 },
      ),
    ]),
  );
  await Promise.all(groups.map((g) => g.once('ready', 300_000)));
  await Promise.all(groups.map((g) => g.ask({ type: 'reset', latency: false })));
  await w.ready();
  const before = threadCpu(proc.child.pid as number);
  const pad = 'x'.repeat(900);
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() < end) {
        const amount = (performance.timeOrigin + performance.now()).toFixed(3);
        const res = flavorId
          ? await fetch(`${url}/api/v2/flavors/${flavorId}/refresh`, {
              method: 'POST',
              headers: {
                authorization: 'Bearer bench-provider',
                'content-type': 'application/json',
              },
              body: JSON.stringify({ price: { amount, currency: 'EUR', period: 'hour' } }),
            })
          : await fetch(`${url}/fire-corked`, {
              method: 'POST',
              body: JSON.stringify({ type: 'REFRESH_FLAVOR', price: { amount }, pad }),
            });
        await res.arrayBuffer();
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 2000));
  const after = threadCpu(proc.child.pid as number);
  await w.done();
  const counts = await Promise.all(groups.map((g) => g.ask<{ count: number }>({ type: 'report' })));
  const delivered = counts.reduce((t, c) => t + c.count, 0);
  // Per thread, as P3 counts it (server CPU / deliveries), to tell the fan-out from the rest.
  console.log(`${delivered} deliveries; server CPU per delivery by thread:`);
  for (const [t, sec] of after) {
    const us = ((sec - (before.get(t) ?? 0)) * 1e6) / delivered;
    if (us >= 0.01) console.log(`  ${t}: ${us.toFixed(2)} µs`);
  }
  await Promise.all(groups.map((g) => g.kill()));
  return delivered;
}
