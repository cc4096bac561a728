/**
 * One hub that has run a while under P2's load: `tsx scripts/bench/p2-long.ts <tree> [loads]
 * [seconds]`, the tree a checkout with its dist/ built. One hub process (P2's 200 pooled
 * flavors, an SQLite file) takes `loads` loads of `seconds` back to back, as `npm run bench`'s
 * P2 keeps one hub through its rounds; after each it prints req/s, the main thread's and the
 * other threads' CPU per request, and the heap in use after a full collection. P2's load
 * publishes ~2 events per request, so the history (100,000 events) fills within the first
 * loads; what a long-lived hub holds and spends shows after that.
 */
import { answered } from './lib/answered.js';
import { mainAndOtherCpu as cpu, spawnProc } from './lib/proc.js';
import { saleLoad } from './lib/sales.js';

const tree = process.argv[2] ?? process.cwd();
const loads = Number(process.argv[3] ?? 12);
const seconds = Number(process.argv[4] ?? 4);
const tokens = Array.from({ length: 200 }, (_, i) => `bench-consumer-${i}`);

const hub = spawnProc(
  `../../../..${tree}/scripts/bench/servers/hub.ts`,
  [JSON.stringify({ seed: 'pool', n: 200, file: true, consumers: 200 })],
  ['--expose-gc'],
);
try {
  const { url } = await hub.once<{ url: string }>('ready');
  const { ids } = await hub.ask<{ ids: string[] }>({ type: 'ids' });
  const pid = hub.child.pid as number;
  for (let i = 0; i < loads; i++) {
    const c0 = cpu(pid);
    const r = answered(await saleLoad({ url, flavorIds: ids, tokens, seed: 10 + i, seconds }), url);
    const c1 = cpu(pid);
    const n = r.requests.total;
    const { mem } = await hub.ask<{ mem: NodeJS.MemoryUsage }>({ type: 'mem' });
    console.log(
      `load ${i + 1}: ${Math.round(r.requests.average)} req/s, main ${Math.round((c1.main - c0.main) / n)} µs/req, other threads ${Math.round((c1.other - c0.other) / n)}, heap ${Math.round(mem.heapUsed / 2 ** 20)} MiB, rss ${Math.round(mem.rss / 2 ** 20)} MiB`,
    );
  }
} finally {
  await hub.kill();
}
process.exit(0);
