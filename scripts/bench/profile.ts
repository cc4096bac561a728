/**
 * Profiles the hub under a benchmark's load and prints where its main thread spends the time:
 * `tsx scripts/bench/profile.ts list|sale [dir] [--seconds=N]` (P1's random-selector LIST, or
 * P2's reserve + purchase). Only the load's window is profiled (lib/window-profiler.ts), after
 * a warm-up, so start-up does not crowd the table. Prints the functions with the most self
 * time, then the most inclusive time (a function's own samples and its callees', counted once
 * per stack), with µs per request. The .cpuprofile stays in dir for a flame graph (e.g.
 * speedscope).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import autocannon, { type Request as AcRequest } from 'autocannon';
import { prng, randomSelectorQuery } from './lib/catalog.js';
import { buildDist, spawnProc } from './lib/proc.js';
import { saleLoad } from './lib/sales.js';

buildDist();
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const scenario = args[0] ?? 'list';
const dir = args[1] ?? 'bench-output/profiles';
const seconds = Number(
  process.argv.find((a) => a.startsWith('--seconds='))?.slice('--seconds='.length) ?? 5,
);
mkdirSync(dir, { recursive: true });
const seed =
  scenario === 'sale' ? { seed: 'pool', n: 500, file: true } : { seed: 'list', n: 10_000 };
const proc = spawnProc('servers/hub.ts', [JSON.stringify(seed)]);
const { url } = await proc.once<{ url: string }>('ready');
const r = prng(1);
const tokens = Array.from({ length: 200 }, (_, i) => `bench-consumer-${i}`);
const { ids } = await proc.ask<{ ids: string[] }>({ type: 'ids' });
const load = async (s: number): Promise<number> => {
  if (scenario === 'sale')
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
await proc.ask({ type: 'profile-start' });
const requests = await load(seconds);
const { file } = await proc.ask<{ file: string }>({ type: 'profile-stop', dir });
await proc.kill();

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
  `${requests} requests in ${seconds} s; main thread busy ${(((samples - idle) * us) / requests).toFixed(1)} µs per request (${(100 * (1 - idle / samples)).toFixed(0)} % of the window)`,
);
const table = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}: % of samples, µs per request`);
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
