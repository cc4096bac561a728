/**
 * Where P9's one-instance hub spends more than its floor: `tsx scripts/bench/p9-profile.ts
 * [rounds] [seconds] [dir]`. Each round, on a throwaway PostgreSQL cluster, the hub on a fresh
 * database takes P9's load (64 connections, reserve then purchase over 500 pooled flavors)
 * under a CPU profile of its main thread; then the floor (servers/pg-floor.ts) on a copy of
 * that database takes the same load under the same profile. Prints the profiled time per
 * request of each, by where it ran (the hub's domain files together, the store's files, each
 * package, node's internals, V8's own entries), the difference first — idle time left out.
 * The .cpuprofile files stay in dir.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { findPgBinDir, startPostgres } from '../lib/pg-cluster.js';
import { fileOf } from './lib/alloc-tables.js';
import { answered } from './lib/answered.js';
import { buildDist, spawnProc, type Proc } from './lib/proc.js';
import { saleLoad } from './lib/sales.js';

const rounds = Number(process.argv[2] ?? 2);
const seconds = Number(process.argv[3] ?? 6);
const dir = process.argv[4] ?? 'bench-output/p9-profiles';
mkdirSync(dir, { recursive: true });
buildDist();
findPgBinDir();
const cluster = await startPostgres({ settings: { shared_buffers: '256MB' } });
const tokens = Array.from({ length: 200 }, (_, i) => `bench-consumer-${i}`);

/** A profile's main-thread time per request by where it ran, idle left out. */
function byPlace(file: string, requests: number): Map<string, number> {
  const p = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const { url, functionName } = (byId.get(id) as (typeof p.nodes)[number]).callFrame;
    // The hub's domain files together, node's internals together; V8's own entries by name.
    const file = url === '' ? `(${functionName || 'anonymous'})` : fileOf(url);
    const place = file.startsWith('src/domain/')
      ? 'src/domain/*'
      : file.startsWith('node:')
        ? 'node:*'
        : file;
    if (place === '(idle)') return;
    out.set(place, (out.get(place) ?? 0) + (p.timeDeltas[i] ?? 0) / requests);
  });
  return out;
}

async function profiled(proc: Proc, url: string, ids: string[]): Promise<Map<string, number>> {
  await proc.ask({ type: 'profile-start' });
  const r = answered(await saleLoad({ url, flavorIds: ids, tokens, seed: 10, seconds }), url);
  const { file } = await proc.ask<{ file: string }>({ type: 'profile-stop', dir });
  console.log(`  ${Math.round(r.requests.average)} req/s; ${file}`);
  return byPlace(file, r.requests.total);
}

const hubs: Array<Map<string, number>> = [];
const floors: Array<Map<string, number>> = [];
try {
  for (let i = 0; i < rounds; i++) {
    const db = await cluster.createDatabase();
    console.log(`round ${i + 1}, hub:`);
    const hub = spawnProc('servers/hub.ts', [
      JSON.stringify({ seed: 'pool', n: 500, pg: db, consumers: 200 }),
    ]);
    const { url } = await hub.once<{ url: string }>('ready');
    const { ids } = await hub.ask<{ ids: string[] }>({ type: 'ids' });
    // Warm-up, which also makes the sales whose rows the floor copies.
    await saleLoad({ url, flavorIds: ids, tokens, seed: 1, seconds: 2 });
    hubs.push(await profiled(hub, url, ids));
    await hub.kill();
    console.log(`round ${i + 1}, floor:`);
    const floor = spawnProc('servers/pg-floor.ts', [JSON.stringify({ poolSize: 10 })]);
    const { url: floorUrl } = await floor.once<{ url: string }>('ready');
    const used = await floor.ask<{ error?: string }>({
      type: 'use',
      db: await cluster.createDatabase(),
      from: db,
    });
    if (used.error) throw new Error(`pg-floor: ${used.error}`);
    await saleLoad({ url: floorUrl, flavorIds: ids, tokens, seed: 1, seconds: 2 });
    floors.push(await profiled(floor, floorUrl, ids));
    await floor.kill();
  }
} finally {
  await cluster.stop();
}

const mean = (maps: Array<Map<string, number>>, k: string) =>
  maps.reduce((s, m) => s + (m.get(k) ?? 0), 0) / maps.length;
const places = new Set([...hubs, ...floors].flatMap((m) => [...m.keys()]));
const rows = [...places]
  .map((k) => ({ k, hub: mean(hubs, k), floor: mean(floors, k) }))
  .sort((a, b) => b.hub - b.floor - (a.hub - a.floor));
const total = (side: 'hub' | 'floor') => rows.reduce((s, r) => s + r[side], 0);
console.log(
  `\nmain thread, profiled µs per request (idle left out): hub ${total('hub').toFixed(0)}, floor ${total('floor').toFixed(0)}`,
);
console.log(`${'where'.padEnd(32)}     hub   floor    hub − floor`);
for (const r of rows.slice(0, 20))
  console.log(
    `${r.k.padEnd(32)} ${r.hub.toFixed(1).padStart(7)} ${r.floor.toFixed(1).padStart(7)} ${(r.hub - r.floor).toFixed(1).padStart(10)}`,
  );
process.exit(0);
