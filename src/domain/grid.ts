/**
 * The sizes a flavor offers for one resource: min, min+step, min+2·step, … up to max.
 * A fixed size v is {min: v, step: 0, max: v}. Selectors and reservations both read grids,
 * so "what LIST says it offers" and "what RESERVE accepts" cannot disagree.
 */

export interface Grid {
  readonly min: bigint;
  readonly step: bigint;
  readonly max: bigint;
}

export function fixed(v: bigint): Grid {
  return { min: v, step: 0n, max: v };
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return a % b === 0n ? a / b : a / b + 1n;
}

/** The largest offered size, or -1 when the grid offers nothing (max under min). */
export function gridTop(g: Grid): bigint {
  if (g.max < g.min) return -1n;
  return g.step === 0n ? g.min : g.min + ((g.max - g.min) / g.step) * g.step;
}

/**
 * A numeric fact as selectors test it: the grid, its largest offered size, and float copies
 * of min and top. Number() is monotone, so a strict float comparison decides exactly and only
 * a float tie falls back to bigint — the common case costs two float compares.
 */
export interface NumFact {
  readonly grid: Grid;
  readonly top: bigint;
  readonly minF: number;
  readonly topF: number;
}

export function numFact(g: Grid): NumFact {
  const top = gridTop(g);
  return { grid: g, top, minF: Number(g.min), topF: Number(top) };
}

/** Whether v is one of the offered sizes. */
export function gridHas(g: Grid, v: bigint): boolean {
  if (v < g.min || v > g.max) return false;
  return g.step === 0n ? v === g.min : (v - g.min) % g.step === 0n;
}

/** Whether some offered size lies in [lo, hi] (either bound may be missing). */
export function gridHasIn(g: Grid, lo: bigint | undefined, hi: bigint | undefined): boolean {
  if (g.max < g.min) return false;
  let lower = g.min;
  if (lo !== undefined && lo > lower) {
    if (g.step === 0n) return false;
    lower = g.min + ceilDiv(lo - g.min, g.step) * g.step;
  }
  const upper = hi !== undefined && hi < g.max ? hi : g.max;
  return lower <= upper;
}

/** Why v is not offered, for a 422 message; undefined when it is. */
export function gridMiss(
  g: Grid,
  v: bigint,
): 'below minimum' | 'off the step grid' | 'more than is unsold' | undefined {
  if (v < g.min) return 'below minimum';
  if (v > g.max) return 'more than is unsold';
  if (g.step === 0n ? v !== g.min : (v - g.min) % g.step !== 0n) return 'off the step grid';
  return undefined;
}
