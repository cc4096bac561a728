/**
 * P3 pings: what the hub's liveness pings cost the events it fans out meanwhile. The hub pings
 * every connection once per interval (30 s by default); until the ping wheel
 * (src/ws/ping-wheel.ts) it pinged them all in one timer tick, and with 5,000 subscribers
 * that tick and the pongs answering it held the event loop for 50–140 ms, once an interval.
 *
 * 5,000 subscribers of one flavor on the hub as shipped and on the same hub with pings off (the
 * baseline), each in its own process with its own subscribers, rounds alternated. Per round
 * and hub: the event loop's worst delay (`monitorEventLoopDelay`, sampled every 5 ms) over one
 * ping interval with nothing else to do, which only the pings' ticks can delay; then, over
 * another interval of refreshes paced at 2/s, the same and the deliveries' p99 and p99.9 (a
 * stall once an interval reaches about a thousandth of a round's deliveries, not a hundredth).
 * Medians of rounds.
 */
import { median } from './lib/histogram.js';
import type { Proc } from './lib/proc.js';
import type { Kit } from './scale-out.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (ms: number) => ms.toFixed(1);

interface Delays {
  p50: number;
  p99: number;
  max: number;
}

export async function pings(kit: Kit): Promise<void> {
  const n = kit.quick ? 500 : 5000;
  const intervalMs = kit.quick ? 3000 : 30_000;
  const rounds = kit.quick ? 1 : 2;
  // Under the machine's capacity (P3 latency's 10/s keeps two cores busy, and their own
  // stalls then hide the pings'): what a tick adds shows in the tail.
  const rate = 2;
  kit.log(`P3 pings: ${n} subscribers, pings every ${intervalMs / 1000} s against none`);
  const tokens = Array.from({ length: kit.consumers }, (_, i) => kit.consumerToken(i));
  const start = async (pingMs: number) => {
    const hub = await kit.startHub({ seed: 'broadcast', n: 1, file: true, pingMs });
    const { ids } = await hub.proc.ask<{ ids: string[] }>({ type: 'ids' });
    const flavorId = ids[0] as string;
    const subs = await kit.startSubscribers(
      { kind: 'hub', url: hub.url, tokens, flavorIds: [flavorId] },
      n,
      kit.quick ? 1 : 2,
    );
    return { ...hub, subs, fire: kit.hubFire(hub.url, flavorId), results: [] as Result[] };
  };
  type Result = {
    idle: Delays;
    busy: Delays;
    p50: number;
    p99: number;
    p999: number;
    deliveries: number;
  };
  const pinged = await start(intervalMs);
  const silent = await start(0);
  /** The hub's event-loop delays while `during` runs. */
  const delays = async <T>(s: typeof pinged, during: () => Promise<T>) => {
    await s.proc.ask({ type: 'stall-start' });
    const out = await during();
    return { out, ...(await s.proc.ask<{ delays: Delays }>({ type: 'stall-stop' })) };
  };
  try {
    for (let i = 0; i < rounds; i++) {
      for (const s of i % 2 === 0 ? [pinged, silent] : [silent, pinged]) {
        // One whole interval with nothing else to do: only the pings' ticks can delay it.
        const idle = (await delays(s, () => sleep(intervalMs))).delays;
        const busy = await delays(s, () => kit.latencyRun(s.subs, s.fire, rate, intervalMs / 1000));
        s.results.push({ idle, busy: busy.delays, ...busy.out });
        kit.log(
          `P3 pings round ${i + 1}, ${s === pinged ? 'pings' : 'no pings'}: the event loop's worst delay idle ${idle.max.toFixed(1)} ms, under refreshes ${busy.delays.max.toFixed(1)} ms; deliveries p50 ${busy.out.p50} ms, p99 ${busy.out.p99} ms, p99.9 ${busy.out.p999} ms`,
        );
      }
    }
  } finally {
    const procs: Proc[] = [pinged, silent].flatMap((s) => [s.proc, ...s.subs]);
    await Promise.all(procs.map((p) => p.kill()));
  }
  const med = (s: typeof pinged, f: (r: Result) => number) => median(s.results.map(f));
  const worst = { on: med(pinged, (r) => r.idle.max), off: med(silent, (r) => r.idle.max) };
  const busy = { on: med(pinged, (r) => r.busy.max), off: med(silent, (r) => r.busy.max) };
  const p999 = { on: med(pinged, (r) => r.p999), off: med(silent, (r) => r.p999) };
  const p99 = { on: med(pinged, (r) => r.p99), off: med(silent, (r) => r.p99) };
  const recorded = (s: typeof pinged) => s.results.reduce((t, r) => t + r.deliveries, 0);
  const what = `${n} subscribers of one flavor pinged every ${intervalMs / 1000} s (each once per interval, a slice of them every second), refreshes at ${rate}/s, ${rounds} round(s) of one interval each, against the same hub with pings off`;
  kit.rows.push({
    id: 'P3 pings',
    what: `the event loop's worst delay (monitorEventLoopDelay) over one idle interval, with ${what}; under the refreshes: ${fmt(busy.on)} against ${fmt(busy.off)} ms`,
    hub: worst.on,
    baseline: worst.off,
    ratio: worst.on / worst.off,
    unit: 'ms max',
    target: 'reference',
    met: undefined,
  });
  kit.rows.push({
    id: 'P3 pings latency',
    what: `per-delivery latency, p99.9, with ${what}; p99: ${p99.on} against ${p99.off} ms — ${recorded(pinged)} and ${recorded(silent)} deliveries recorded`,
    hub: p999.on,
    baseline: p999.off,
    ratio: p999.on / p999.off,
    unit: 'ms p99.9',
    target: 'reference',
    met: undefined,
  });
}
