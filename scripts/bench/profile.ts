/**
 * Profiles the hub under a benchmark's load and prints the functions with the most self time:
 * `tsx scripts/bench/profile.ts list|sale [dir]` (P1's random-selector LIST, or P2's
 * reserve + purchase). Only samples taken while the load ran count (not start-up and seeding).
 * The .cpuprofile stays in dir for a flame graph (e.g. speedscope). On a busy machine the
 * profile over-weights system calls (a descheduled thread is sampled where it waits).
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import autocannon, { type Request as AcRequest } from 'autocannon';
import { prng, randomSelectorQuery } from './lib/catalog.js';
import { buildDist, spawnProc } from './lib/proc.js';
import { saleLoad } from './lib/sales.js';

buildDist();
const started = Date.now();
const scenario = process.argv[2] ?? 'list';
const dir = process.argv[3] ?? 'bench-output/profiles';
mkdirSync(dir, { recursive: true });
const seed =
  scenario === 'sale' ? { seed: 'pool', n: 500, file: true } : { seed: 'list', n: 10_000 };
const proc = spawnProc(
  'servers/hub.ts',
  [JSON.stringify(seed)],
  ['--cpu-prof', `--cpu-prof-dir=${dir}`],
);
const { url } = await proc.once<{ url: string }>('ready');
const r = prng(1);
const clock = async () => (await proc.ask<{ us: number }>({ type: 'clock' })).us;
const from = await clock();
if (scenario === 'sale') {
  const { ids } = await proc.ask<{ ids: string[] }>({ type: 'ids' });
  const tokens = Array.from({ length: 200 }, (_, i) => `bench-consumer-${i}`);
  await saleLoad({ url, flavorIds: ids, tokens, seed: 1, seconds: 5 });
} else {
  await autocannon({
    url,
    connections: 10,
    duration: 5,
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
}
const to = await clock();
await proc.kill();
// tsx's loader thread writes a profile too; the server's main thread is the largest of this run.
const file = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile') && statSync(`${dir}/${f}`).mtimeMs >= started)
  .sort((a, b) => statSync(`${dir}/${b}`).size - statSync(`${dir}/${a}`).size)[0] as string;
const prof = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }>;
  samples: number[];
  startTime: number;
  timeDeltas: number[];
};
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let at = prof.startTime;
let total = 0;
for (const [i, s] of prof.samples.entries()) {
  at += prof.timeDeltas[i] ?? 0;
  if (at < from || at > to) continue;
  total++;
  const n = byId.get(s);
  if (!n) continue;
  const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`;
  self.set(k, (self.get(k) ?? 0) + 1);
}
console.log(`${total} samples under load`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30))
  console.log(((v / total) * 100).toFixed(1).padStart(5), k);
