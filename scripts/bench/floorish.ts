// EXPERIMENT (reverted in the next commit; docs/benchmarks.md, sixteenth session): `FLOORISH=1 npx tsx scripts/bench/floorish.ts 6 5`
// runs P2 against the hub, the sale floor's work behind the hub's HTTP layer (/fl/api/v2), and the floor.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './lib/histogram.js';
import { spawnProc, threadCpu, type Proc } from './lib/proc.js';
import { saleLoad } from './lib/sales.js';
const rounds = Number(process.argv[2] ?? 4);
const seconds = Number(process.argv[3] ?? 5);
const tokens = Array.from({ length: 200 }, (_, i) => `bench-consumer-${i}`);
const dir = mkdtempSync(join(tmpdir(), 'rear-floorish-'));
const mainCpu = (pid: number) => (threadCpu(pid).get('main') ?? 0) * 1e6;
async function measure(proc: Proc, url: string, ids: string[], seed: number, prefix = '') {
  const pid = proc.child.pid as number;
  const t0 = mainCpu(pid);
  const r = await saleLoad({ url, flavorIds: ids, tokens, seed, seconds, prefix });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`failures: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, us: (mainCpu(pid) - t0) / r.requests.total };
}
const res: Record<string, Array<{ rps: number; us: number; ratio: number }>> = { hub: [], hubHttp: [], floor: [] };
for (let i = 0; i < rounds; i++) {
  const hub = spawnProc('servers/hub.ts', [JSON.stringify({ seed: 'pool', n: 200, file: true, consumers: 200 })]);
  const { url } = await hub.once<{ url: string }>('ready');
  const { ids } = await hub.ask<{ ids: string[] }>({ type: 'ids' });
  await saleLoad({ url, flavorIds: ids, tokens, seed: 1, seconds: 2 });
  const { sample } = await hub.ask<{ sample: unknown }>({ type: 'sample' });
  await hub.ask({ type: 'floorish', sample });
  await saleLoad({ url, flavorIds: ids, tokens, seed: 2, seconds: 2, prefix: '/fl' });
  const floor = spawnProc('servers/baselines.ts', [JSON.stringify({ kind: 'fastify', db: join(dir, `floor-${i}.db`), sale: sample })]);
  const { url: floorUrl } = await floor.once<{ url: string }>('ready');
  await saleLoad({ url: floorUrl, flavorIds: ids, tokens, seed: 2, seconds: 2 });
  const order = [
    ['hub', () => measure(hub, url, ids, 10 + i)],
    ['hubHttp', () => measure(hub, url, ids, 10 + i, '/fl')],
    ['floor', () => measure(floor, floorUrl, ids, 10 + i)],
  ] as const;
  const got: Record<string, { rps: number; us: number }> = {};
  for (const [name, fn] of i % 2 === 0 ? order : [...order].reverse()) got[name] = await fn();
  for (const name of Object.keys(res)) res[name]!.push({ ...got[name]!, ratio: got[name]!.rps / got.floor!.rps });
  console.log(`round ${i + 1}: ` + Object.entries(got).map(([n, g]) => `${n} ${Math.round(g.rps)} req/s (main ${Math.round(g.us)} µs/req)`).join(', '));
  await Promise.all([hub.kill(), floor.kill()]);
}
for (const [n, l] of Object.entries(res))
  console.log(`${n}: median ${Math.round(median(l.map((x) => x.rps)))} req/s, ${median(l.map((x) => x.ratio)).toFixed(2)}× floor, main ${Math.round(median(l.map((x) => x.us)))} µs/req`);
process.exit(0);
