/**
 * Does P2's gap come from the hub's event-loop time alone? `tsx scripts/bench/floor-spin.ts
 * [rounds] [seconds]`: P2's load on the hub, then on its sale floor with 0, half and all of the
 * difference in main-thread CPU per request added to each of the floor's requests as
 * busy-waiting (servers/baselines.ts `spinUs`), in rotating order, every round beside a fresh
 * hub. A floor made as slow as the hub per request that still sells faster than it says the
 * rest of the gap is in how the hub's requests wait, not in its CPU. The spin is measured from
 * the first round: main-thread CPU per request of the hub less the floor's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answered } from './lib/answered.js';
import { median } from './lib/histogram.js';
import { buildDist, spawnProc, threadCpu, type Proc } from './lib/proc.js';
import { saleLoad } from './lib/sales.js';

buildDist();
const rounds = Number(process.argv[2] ?? 4);
const seconds = Number(process.argv[3] ?? 5);
const tokens = Array.from({ length: 200 }, (_, i) => `bench-consumer-${i}`);
const dir = mkdtempSync(join(tmpdir(), 'rear-floor-spin-'));

async function measure(proc: Proc, url: string, ids: string[], seed: number) {
  const pid = proc.child.pid as number;
  const t0 = threadCpu(pid).get('main') ?? 0;
  const r = answered(await saleLoad({ url, flavorIds: ids, tokens, seed, seconds }), url);
  const t1 = threadCpu(pid).get('main') ?? 0;
  return { rps: r.requests.average, mainUs: ((t1 - t0) * 1e6) / r.requests.total };
}

let spins: number[] | undefined;
const rows = new Map<string, Array<{ rps: number; mainUs: number; ratio: number }>>();
const add = (name: string, row: { rps: number; mainUs: number; ratio: number }) =>
  rows.set(name, [...(rows.get(name) ?? []), row]);
try {
  for (let i = 0; i < rounds; i++) {
    const hub = spawnProc('servers/hub.ts', [
      JSON.stringify({ seed: 'pool', n: 200, file: true, consumers: 200 }),
    ]);
    const { url } = await hub.once<{ url: string }>('ready');
    const { ids } = await hub.ask<{ ids: string[] }>({ type: 'ids' });
    await saleLoad({ url, flavorIds: ids, tokens, seed: 1, seconds: 2 });
    const { sample } = await hub.ask<{ sample: unknown }>({ type: 'sample' });
    const h = await measure(hub, url, ids, 10 + i);
    await hub.kill();
    add('hub', { ...h, ratio: 1 });
    console.log(
      `round ${i + 1} hub: ${Math.round(h.rps)} req/s, main ${Math.round(h.mainUs)} µs/request`,
    );
    const order = spins ? [...spins.keys()] : [0];
    // Rotated each round, so no spin always runs first (or last) after the hub.
    for (let k = 0; k < order.length; k++) {
      const spinUs = spins ? (spins[(k + i) % spins.length] as number) : 0;
      const floor = spawnProc('servers/baselines.ts', [
        JSON.stringify({
          kind: 'fastify',
          db: join(dir, `floor-${i}-${k}.db`),
          sale: sample,
          spinUs,
        }),
      ]);
      const { url: floorUrl } = await floor.once<{ url: string }>('ready');
      await saleLoad({ url: floorUrl, flavorIds: ids, tokens, seed: 2, seconds: 2 });
      const f = await measure(floor, floorUrl, ids, 10 + i);
      await floor.kill();
      if (!spins) {
        const gap = Math.max(0, h.mainUs - f.mainUs);
        spins = [0, Math.round(gap / 2), Math.round(gap)];
        console.log(`spins from round 1: 0, ${spins[1]} and ${spins[2]} µs per request`);
      }
      add(`floor +${spinUs} µs`, { ...f, ratio: h.rps / f.rps });
      console.log(
        `round ${i + 1} floor +${spinUs} µs: ${Math.round(f.rps)} req/s, main ${Math.round(f.mainUs)} µs/request; hub ÷ this floor ${(h.rps / f.rps).toFixed(2)}×`,
      );
      // The first round measured the unspun floor only to choose the spins: run the others now.
      if (i === 0 && k === 0) order.push(1, 2);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
for (const [name, list] of rows) {
  console.log(
    `${name}: median ${Math.round(median(list.map((x) => x.rps)))} req/s, main ${Math.round(median(list.map((x) => x.mainUs)))} µs/request${name === 'hub' ? '' : `, hub ÷ it ${median(list.map((x) => x.ratio)).toFixed(2)}×`}`,
  );
}
process.exit(0);
