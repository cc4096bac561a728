/**
 * Where P2's time goes: `npm run bench:probe -- [--connections=64,256] [--rounds=2]
 * [--seconds=5] [--floor]`. Runs P2's load (lib/sales.ts) against the hub — or, with --floor,
 * against its sale floor (servers/baselines.ts) — and prints per round: req/s and latency,
 * the whole machine's busy share, the load generator's CPU, the server's CPU per thread
 * (main first; the SQLite writer is the other busy one) and the bytes it wrote per request;
 * at the end, the hub's heap after a full collection. Figures, not a verdict: run.ts keeps
 * the targets.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDist, machineCpu, spawnProc, threadCpu, type Proc } from './lib/proc.js';
import { saleLoad } from './lib/sales.js';

const arg = (name: string, fallback: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const connections = arg('connections', '64').split(',').map(Number);
const rounds = Number(arg('rounds', '2'));
const seconds = Number(arg('seconds', '5'));
const floor = process.argv.includes('--floor');
const CONSUMERS = 200;
const tokens = Array.from({ length: CONSUMERS }, (_, i) => `bench-consumer-${i}`);

buildDist();
const hub = spawnProc(
  'servers/hub.ts',
  [JSON.stringify({ seed: 'pool', n: 200, file: true, consumers: CONSUMERS })],
  ['--expose-gc'],
);
const { url: hubUrl } = await hub.once<{ url: string }>('ready');
const { ids } = await hub.ask<{ ids: string[] }>({ type: 'ids' });
// A warm-up, which also makes the sales whose rows the sale floor copies.
await saleLoad({ url: hubUrl, flavorIds: ids, tokens, seed: 1, seconds: 2 });

let server: Proc = hub;
let url = hubUrl;
const dbDir = mkdtempSync(join(tmpdir(), 'rear-probe-'));
if (floor) {
  const { sample } = await hub.ask<{ sample: unknown }>({ type: 'sample' });
  server = spawnProc('servers/baselines.ts', [
    JSON.stringify({ kind: 'fastify', db: join(dbDir, 'floor.db'), sale: sample }),
  ]);
  url = (await server.once<{ url: string }>('ready')).url;
  await saleLoad({ url, flavorIds: ids, tokens, seed: 2, seconds: 2 });
}
const pid = server.child.pid as number;

const written = () =>
  Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
const pct = (part: number, whole: number) => `${Math.round((part / whole) * 100)} %`;

console.log(
  `[probe] ${floor ? 'sale floor' : 'hub'}, ${cpus().length} cores; per thread: % of one core`,
);
for (const c of connections) {
  for (let round = 0; round < rounds; round++) {
    const t0 = threadCpu(pid);
    const m0 = machineCpu();
    const w0 = written();
    const g0 = process.cpuUsage();
    const at = performance.now();
    const res = await saleLoad({
      url,
      flavorIds: ids,
      tokens,
      seed: 10 + round,
      seconds,
      connections: c,
    });
    const wall = (performance.now() - at) / 1000;
    const g = process.cpuUsage(g0);
    const m1 = machineCpu();
    const t1 = threadCpu(pid);
    const threads = [...t1]
      .map(([k, v]) => [k, v - (t0.get(k) ?? 0)] as const)
      .filter(([, v]) => v / wall >= 0.02)
      .sort((a, b) => (a[0] === 'main' ? -1 : b[0] === 'main' ? 1 : b[1] - a[1]))
      .map(([k, v]) => `${k} ${pct(v, wall)}`)
      .join(', ');
    console.log(
      `${c} connections: ${Math.round(res.requests.average)} req/s (p50 ${res.latency.p50} ms, p99 ${res.latency.p99} ms${res.non2xx ? `, ${res.non2xx} non-2xx` : ''}); ` +
        `machine ${pct(m1.busyUs - m0.busyUs, m1.totalUs - m0.totalUs)} busy; ` +
        `load generator ${pct((g.user + g.system) / 1e6, wall)}; threads: ${threads}; ` +
        `${Math.round((written() - w0) / Math.max(1, res.requests.total))} B written per request`,
    );
  }
}
if (!floor) {
  const { mem } = await hub.ask<{ mem: NodeJS.MemoryUsage }>({ type: 'mem' });
  console.log(`hub heap after a full collection: ${Math.round(mem.heapUsed / 2 ** 20)} MiB`);
}
await Promise.all([hub.kill(), server.kill()]);
rmSync(dbDir, { recursive: true, force: true });
process.exit(0);
