/**
 * P2's load on two builds, alternated round by round, with the sale floor in every round:
 * `tsx scripts/bench/p2-ab.ts <treeA> <treeB> [rounds] [seconds]`, each tree a checkout with
 * its dist/ built (P2AB_HUB_FLAGS_B='--flag …' runs the second one's hub with node flags).
 * Per round and build: req/s, the hub's ratio to the floor measured next to it, the main
 * thread's CPU per request and the other threads' together, and context switches per request
 * (the main thread's preemptions, and every thread's switches); at the end the medians. The
 * two builds' hubs run one after the other, each beside a fresh floor, so a noisy stretch of
 * the shared machine lands on both in turn rather than on one build.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answered } from './lib/answered.js';
import { median } from './lib/histogram.js';
import { contextSwitches, mainAndOtherCpu, spawnProc, type Proc } from './lib/proc.js';
import { saleLoad } from './lib/sales.js';

const [treeA, treeB] = process.argv.slice(2, 4) as [string, string];
/** P2AB_HUB_FLAGS_B: node flags for the second build's hub only (a V8 flag's A/B, one tree twice). */
const flagsB = process.env.P2AB_HUB_FLAGS_B?.split(' ').filter(Boolean) ?? [];
const builds = [
  { name: treeA, tree: treeA, flags: [] as string[] },
  { name: flagsB.length > 0 ? `${treeB} ${flagsB.join(' ')}` : treeB, tree: treeB, flags: flagsB },
];
const rounds = Number(process.argv[4] ?? 4);
const seconds = Number(process.argv[5] ?? 5);
const tokens = Array.from({ length: 200 }, (_, i) => `bench-consumer-${i}`);
const dir = mkdtempSync(join(tmpdir(), 'rear-p2ab-'));

async function measure(proc: Proc, url: string, ids: string[], seed: number) {
  const pid = proc.child.pid as number;
  // 10 ms ticks: a round's thousands of requests smooth them. The other threads are the
  // writer, the signer, V8's collector helpers and libuv's.
  const c0 = mainAndOtherCpu(pid);
  const s0 = contextSwitches(pid);
  // A failed request fails the run (lib/answered.ts): a floor that fails answers fast.
  const r = answered(await saleLoad({ url, flavorIds: ids, tokens, seed, seconds }), url);
  const s1 = contextSwitches(pid);
  const c1 = mainAndOtherCpu(pid);
  const n = r.requests.total;
  return {
    rps: r.requests.average,
    mainUs: (c1.main - c0.main) / n,
    otherUs: (c1.other - c0.other) / n,
    /** The main thread's cores taken from it, and all threads' switches, per request. */
    preempted: (s1.mainInvoluntary - s0.mainInvoluntary) / n,
    switches: (s1.all - s0.all) / n,
  };
}

const results = new Map<
  string,
  Array<{ rps: number; ratio: number; mainUs: number; preempted: number; switches: number }>
>();
try {
  for (let i = 0; i < rounds; i++) {
    for (const [k, { name, tree, flags }] of (i % 2 === 0
      ? builds
      : [...builds].reverse()
    ).entries()) {
      const hub = spawnProc(
        `../../../..${tree}/scripts/bench/servers/hub.ts`,
        [JSON.stringify({ seed: 'pool', n: 200, file: true, consumers: 200 })],
        flags,
      );
      const { url } = await hub.once<{ url: string }>('ready');
      const { ids } = await hub.ask<{ ids: string[] }>({ type: 'ids' });
      await saleLoad({ url, flavorIds: ids, tokens, seed: 1, seconds: 2 });
      const { sample } = await hub.ask<{ sample: unknown }>({ type: 'sample' });
      // The floor from the same tree: it runs that tree's store.
      const floor = spawnProc(`../../../..${tree}/scripts/bench/servers/baselines.ts`, [
        JSON.stringify({
          kind: 'fastify',
          // Its own file: two floors in one round must not share one (their ids would collide),
          // even when both run the same tree.
          db: join(dir, `floor-${i}-${k}.db`),
          sale: sample,
        }),
      ]);
      const { url: floorUrl } = await floor.once<{ url: string }>('ready');
      await saleLoad({ url: floorUrl, flavorIds: ids, tokens, seed: 2, seconds: 2 });
      const h = await measure(hub, url, ids, 10 + i);
      const f = await measure(floor, floorUrl, ids, 10 + i);
      const list = results.get(name) ?? [];
      list.push({
        rps: h.rps,
        ratio: h.rps / f.rps,
        mainUs: h.mainUs,
        preempted: h.preempted,
        switches: h.switches,
      });
      results.set(name, list);
      console.log(
        `round ${i + 1} ${name}: ${Math.round(h.rps)} req/s (main ${Math.round(h.mainUs)} µs/req, other threads ${Math.round(h.otherUs)}, preempted ${h.preempted.toFixed(2)}/req, switches ${h.switches.toFixed(2)}/req), floor ${Math.round(f.rps)} (main ${Math.round(f.mainUs)}, other threads ${Math.round(f.otherUs)}, preempted ${f.preempted.toFixed(2)}, switches ${f.switches.toFixed(2)}) → ${(h.rps / f.rps).toFixed(2)}×`,
      );
      await Promise.all([hub.kill(), floor.kill()]);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
for (const [tree, list] of results) {
  console.log(
    `${tree}: median ${Math.round(median(list.map((x) => x.rps)))} req/s, ${median(list.map((x) => x.ratio)).toFixed(2)}× the floor, main ${Math.round(median(list.map((x) => x.mainUs)))} µs/request, main thread preempted ${median(list.map((x) => x.preempted)).toFixed(2)} and all threads ${median(list.map((x) => x.switches)).toFixed(2)} context switches per request`,
  );
}
process.exit(0);
