/**
 * Profiles the hub under a benchmark's load and prints the functions with the most self time:
 * `tsx scripts/bench/profile.ts list|sale [dir]` (P1's random-selector LIST, or P2's
 * reserve + purchase). The .cpuprofile stays in dir for a flame graph (e.g. speedscope).
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import autocannon, { type Request as AcRequest } from 'autocannon';
import { prng, randomSelectorQuery } from './lib/catalog.js';
import { buildDist, spawnProc } from './lib/proc.js';

buildDist();
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
if (scenario === 'sale') {
  const { ids } = await proc.ask<{ ids: string[] }>({ type: 'ids' });
  await autocannon({
    url,
    connections: 64,
    duration: 5,
    requests: [
      {
        method: 'POST',
        path: '/api/v2/reservations',
        setupRequest: (req: AcRequest, c: object): AcRequest => {
          const ctx = c as { token?: string };
          ctx.token = `bench-consumer-${Math.floor(r() * 200)}`;
          const cpu = String(1 + Math.floor(r() * 4));
          return {
            ...req,
            headers: { authorization: `Bearer ${ctx.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              FlavorID: ids[Math.floor(r() * ids.length)],
              Configuration: { type: 'k8slice', data: { cpu, memory: `${cpu}Gi`, pods: cpu } },
            }),
          };
        },
        onResponse: (_s: number, body: string, c: object) => {
          (c as { tx?: string }).tx = (
            JSON.parse(body) as { TransactionID?: string }
          ).TransactionID;
        },
      },
      {
        method: 'POST',
        setupRequest: (req: AcRequest, c: object): AcRequest => ({
          ...req,
          path: `/api/v2/transactions/${(c as { tx?: string }).tx ?? 'none'}/purchase`,
          headers: { authorization: `Bearer ${(c as { token?: string }).token ?? ''}` },
        }),
      },
    ],
  });
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
await proc.kill();
// tsx's loader thread writes a profile too; the server's main thread is the largest.
const file = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort((a, b) => statSync(`${dir}/${b}`).size - statSync(`${dir}/${a}`).size)[0] as string;
const prof = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }>;
  samples: number[];
};
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
for (const s of prof.samples) {
  const n = byId.get(s);
  if (!n) continue;
  const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`;
  self.set(k, (self.get(k) ?? 0) + 1);
}
const total = prof.samples.length;
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30))
  console.log(((v / total) * 100).toFixed(1).padStart(5), k);
