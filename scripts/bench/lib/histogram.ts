/**
 * A mergeable latency histogram: fixed 50 µs buckets up to 60 s (one overflow bucket past
 * that). Client processes send their buckets to the orchestrator, which adds them exactly,
 * so percentiles over several processes are true percentiles, not averages of percentiles.
 */
export const BUCKET_US = 50;
const MAX_BUCKETS = 1_200_000;

export class Histogram {
  counts = new Map<number, number>();
  total = 0;

  recordMs(ms: number): void {
    const b = Math.min(MAX_BUCKETS, Math.max(0, Math.floor((ms * 1000) / BUCKET_US)));
    this.counts.set(b, (this.counts.get(b) ?? 0) + 1);
    this.total++;
  }

  add(other: { counts: Array<[number, number]> | Map<number, number> }): void {
    for (const [b, n] of other.counts) {
      this.counts.set(b, (this.counts.get(b) ?? 0) + n);
      this.total += n;
    }
  }

  toJSON(): { counts: Array<[number, number]> } {
    return { counts: [...this.counts] };
  }

  /** The p-th percentile in ms (upper edge of its bucket). */
  percentile(p: number): number {
    if (this.total === 0) return NaN;
    const target = Math.ceil((p / 100) * this.total);
    let seen = 0;
    for (const b of [...this.counts.keys()].sort((x, y) => x - y)) {
      seen += this.counts.get(b) as number;
      if (seen >= target) return ((b + 1) * BUCKET_US) / 1000;
    }
    return NaN;
  }
}

/** Wall-clock ms, comparable across processes on one machine. */
export function stampMs(): number {
  return performance.timeOrigin + performance.now();
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
