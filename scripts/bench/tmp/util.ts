import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saleLoad } from '../lib/sales.js';
import { spawnProc } from '../lib/proc.js';
const tokens = Array.from({ length: 200 }, (_, i) => `bench-consumer-${i}`);
const stat = () => { const l = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number); const idle = l[3]! + l[4]!; const tot = l.reduce((a, b) => a + b, 0); return { idle, tot }; };
async function run(url: string, ids: string[], label: string) {
  await saleLoad({ url, flavorIds: ids, tokens, seed: 1, seconds: 2 });
  const a = stat();
  const r = await saleLoad({ url, flavorIds: ids, tokens, seed: 2, seconds: 6 });
  const b = stat();
  const busy = 1 - (b.idle - a.idle) / (b.tot - a.tot);
  console.log(label, 'req/s', (r.requests.total / 6).toFixed(0), 'machine busy', (busy * 200).toFixed(0) + '% of 200');
}
const hub = spawnProc('servers/hub.ts', [JSON.stringify({ seed: 'pool', n: 500, file: true })]);
const { url } = await hub.once<{ url: string }>('ready');
const { ids } = await hub.ask<{ ids: string[] }>({ type: 'ids' });
await run(url, ids, 'hub  ');
const { sample } = await hub.ask<{ sample: unknown }>({ type: 'sample' });
await hub.kill();
const db = join(mkdtempSync(join(tmpdir(), 'util-floor-')), 'floor.db');
const floor = spawnProc('servers/baselines.ts', [JSON.stringify({ kind: 'fastify', db, sale: sample })]);
const f = await floor.once<{ url: string }>('ready');
await run(f.url, ids, 'floor');
await floor.kill();
