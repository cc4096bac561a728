import { describe, expect, it } from 'vitest';
import { toRfc3339 } from '../../src/clock.js';

/** A seeded generator, so a failure names the value that failed on every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('toRfc3339', () => {
  const MAX = 8.64e15;

  it('writes what toISOString writes, at the edges of the range and of a second', () => {
    const edges = [
      0,
      -0,
      1,
      -1,
      999,
      1000,
      1001,
      -999,
      -1000,
      -1001,
      0.5,
      -0.5,
      1.999,
      -1.999,
      Date.UTC(2026, 11, 1, 23, 59, 59, 999),
      Date.UTC(2026, 11, 2),
      Date.UTC(1969, 11, 31),
      Date.UTC(-1, 0, 1),
      Date.UTC(10000, 0, 1),
      MAX,
      -MAX,
      MAX - 1,
      -MAX + 1,
      MAX - 1000,
      -MAX + 999,
    ];
    for (const ms of edges) expect(toRfc3339(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it('writes what toISOString writes for times in many seconds at once', () => {
    const r = prng(7);
    const base = Date.UTC(2026, 11, 1);
    // A few seconds at once (more than it keeps), then times anywhere in the range.
    for (let i = 0; i < 20_000; i++) {
      const ms =
        i < 10_000
          ? base + Math.floor(r() * 7) * 1000 + Math.floor(r() * 1000)
          : (r() * 2 - 1) * MAX;
      expect(toRfc3339(ms), String(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it('throws where toISOString throws', () => {
    for (const ms of [NaN, Infinity, -Infinity, MAX + 1, -MAX - 1])
      expect(() => toRfc3339(ms), String(ms)).toThrow(RangeError);
  });
});
