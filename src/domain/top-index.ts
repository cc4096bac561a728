/**
 * An index of flavors by the largest size they offer for one numeric field (the primary
 * key), then by a second field (the secondary key), optionally over the flavors with one
 * string value (say architecture=amd64). A selector with lower bounds walks the flavors whose
 * primary top reaches its bound; within each run of equal primary keys, entries are sorted by
 * the secondary key, so once one falls below the second bound the rest of the run is skipped.
 *
 * Kept as a sorted array plus a small unsorted delta of recent changes, merged in when it
 * grows: a change costs O(1) until the merge (O(n), amortized over 512 changes), a query
 * O(log n + runs + answers + delta). A replaced or removed entry is no longer `current` and
 * is skipped.
 */
import type { FlavorEntry } from './flavor-entry.js';

const MAX_DELTA = 512;
const NONE = -1n;

export type KeyOf = (e: FlavorEntry) => bigint | undefined;

export interface TopIndexSpec {
  primary: KeyOf;
  secondary?: KeyOf;
  /** Only entries this accepts are indexed (a string partition). */
  include?: (e: FlavorEntry) => boolean;
}

interface Keyed {
  e: FlavorEntry;
  k1: bigint;
  k2: bigint;
}

function compare(a: Keyed, b: Keyed): number {
  if (a.k1 !== b.k1) return a.k1 > b.k1 ? -1 : 1;
  if (a.k2 !== b.k2) return a.k2 > b.k2 ? -1 : 1;
  return 0;
}

export class TopIndex {
  private sorted: Keyed[] = [];
  /** runEnd[i]: the first position after i whose primary key differs. */
  private runEnd = new Int32Array(0);
  private delta = new Set<FlavorEntry>();
  private changes = 0;

  constructor(
    private readonly spec: TopIndexSpec,
    initial: Iterable<FlavorEntry>,
  ) {
    for (const e of initial) this.stage(e);
    this.merge();
  }

  add(e: FlavorEntry): void {
    this.stage(e);
    this.touch();
  }

  remove(e: FlavorEntry): void {
    this.delta.delete(e);
    this.touch();
  }

  /** An upper bound on how many entries have primary key ≥ lo. */
  count(lo: bigint): number {
    return this.prefix(lo) + this.delta.size;
  }

  /**
   * Pushes onto `out` every current entry with primary ≥ lo1 (and secondary ≥ lo2, when
   * given) that `accept` takes.
   */
  collect(
    lo1: bigint,
    lo2: bigint | undefined,
    accept: (e: FlavorEntry) => boolean,
    out: FlavorEntry[],
  ): void {
    const end = this.prefix(lo1);
    const sorted = this.sorted;
    const runEnd = this.runEnd;
    let i = 0;
    while (i < end) {
      const k = sorted[i] as Keyed;
      if (lo2 !== undefined && k.k2 < lo2) {
        i = runEnd[i] as number;
        continue;
      }
      if (k.e.current && accept(k.e)) out.push(k.e);
      i++;
    }
    for (const e of this.delta) {
      const k = this.keyed(e);
      if (k.k1 >= lo1 && (lo2 === undefined || k.k2 >= lo2) && e.current && accept(e)) out.push(e);
    }
  }

  private keyed(e: FlavorEntry): Keyed {
    return { e, k1: this.spec.primary(e) ?? NONE, k2: this.spec.secondary?.(e) ?? NONE };
  }

  private stage(e: FlavorEntry): void {
    if (this.spec.primary(e) === undefined) return;
    if (this.spec.include && !this.spec.include(e)) return;
    this.delta.add(e);
  }

  private touch(): void {
    if (++this.changes >= MAX_DELTA) this.merge();
  }

  /** Number of sorted entries with primary key ≥ lo (binary search, keys descending). */
  private prefix(lo: bigint): number {
    let a = 0;
    let b = this.sorted.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if ((this.sorted[m] as Keyed).k1 >= lo) a = m + 1;
      else b = m;
    }
    return a;
  }

  private merge(): void {
    const fresh = [...this.delta].filter((e) => e.current).map((e) => this.keyed(e));
    fresh.sort(compare);
    const staged = new Set(fresh.map((k) => k.e));
    const old = this.sorted;
    const merged: Keyed[] = [];
    let j = 0;
    for (const k of old) {
      if (!k.e.current || staged.has(k.e)) continue;
      while (j < fresh.length && compare(fresh[j] as Keyed, k) < 0)
        merged.push(fresh[j++] as Keyed);
      merged.push(k);
    }
    while (j < fresh.length) merged.push(fresh[j++] as Keyed);
    const runEnd = new Int32Array(merged.length);
    for (let i = merged.length - 1; i >= 0; i--) {
      const next = merged[i + 1];
      runEnd[i] = next && next.k1 === (merged[i] as Keyed).k1 ? (runEnd[i + 1] as number) : i + 1;
    }
    this.sorted = merged;
    this.runEnd = runEnd;
    this.delta.clear();
    this.changes = 0;
  }
}
