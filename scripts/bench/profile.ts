/**
 * Profiles the hub under a benchmark's load and prints the functions with the most self time:
 * `tsx scripts/bench/profile.ts list|sale|push|push-raw [dir]` (P1's random-selector LIST,
 * P2's reserve + purchase, P3's refreshes to 5,000 subscribers, or the same load on P3's best
 * raw ws baseline). The .cpuprofile stays in dir for a flame graph (e.g. speedscope).
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import autocannon, { type Request as AcRequest } from 'autocannon';
import { prng, randomSelectorQuery } from './lib/catalog.js';
import { buildDist, spawnProc } from './lib/proc.js';
import { saleLoad } from './lib/sales.js';

buildDist();
const scenario = process.argv[2] ?? 'list';
const dir = process.argv[3] ?? 'bench-output/profiles';
mkdirSync(dir, { recursive: true });
const seed =
  scenario === 'sale'
    ? { seed: 'pool', n: 500, file: true }
    : scenario === 'push'
      ? { seed: 'broadcast', n: 1, file: true }
      : { seed: 'list', n: 10_000 };
const proc = spawnProc(
  scenario === 'push-raw' ? 'servers/baselines.ts' : 'servers/hub.ts',
  [JSON.stringify(scenario === 'push-raw' ? { kind: 'ws' } : seed)],
  ['--cpu-prof', `--cpu-prof-dir=${dir}`],
);
const { url } = await proc.once<{ url: string }>('ready');
const r = prng(1);
if (scenario === 'push' || scenario === 'push-raw') {
  await pushLoad(
    url,
    scenario === 'push' ? (await proc.ask<{ ids: string[] }>({ type: 'ids' })).ids[0] : undefined,
  );
} else if (scenario === 'sale') {
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

/** P3's load: 5,000 subscribers in two processes, refreshes 4 in flight for 5 s. */
async function pushLoad(url: string, flavorId: string | undefined): Promise<void> {
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
  const before = threadCpu(proc.child.pid as number);
  const pad = 'x'.repeat(900);
  const end = Date.now() + 5000;
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
  const counts = await Promise.all(groups.map((g) => g.ask<{ count: number }>({ type: 'report' })));
  const delivered = counts.reduce((t, c) => t + c.count, 0);
  // Per thread, as P3 counts it (server CPU / deliveries), to tell the fan-out from the rest.
  console.log(`${delivered} deliveries; server CPU per delivery by thread:`);
  for (const [t, sec] of after) {
    const us = ((sec - (before.get(t) ?? 0)) * 1e6) / delivered;
    if (us >= 0.01) console.log(`  ${t}: ${us.toFixed(2)} µs`);
  }
  await Promise.all(groups.map((g) => g.kill()));
}

/** CPU seconds so far of each thread of a process, by name/tid ("main" for the event loop). */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(
      tid === String(pid) ? 'main' : `${name}/${tid}`,
      (Number(fields[11]) + Number(fields[12])) / 100,
    );
  }
  return out;
}
