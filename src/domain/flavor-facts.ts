/**
 * What selectors look at, derived once per flavor change: parsed quantities as grids of
 * offered sizes, match strings and tags. Listing compares these, never the raw strings.
 */
import type { Flavor, K8Slice } from '../types/wire.js';
import type { FlavorTypeName } from './flavor-types.js';
import { fixed, numFact, type Grid, type NumFact } from './grid.js';
import { fromInteger, parseDecimal, parseQuantity } from './quantity.js';

export interface FlavorFacts {
  readonly type: FlavorTypeName;
  readonly providerId: string;
  readonly price: bigint;
  readonly priceF: number;
  /** Numeric selector fields (quantities, counts) as grids of offered sizes. */
  readonly nums: Readonly<Record<string, NumFact | undefined>>;
  readonly strings: Readonly<Record<string, string | undefined>>;
  readonly tags: readonly string[];
}

/** The resources a partition of a k8slice names, in a fixed order. */
export const K8SLICE_RESOURCES = ['cpu', 'memory', 'pods', 'storage', 'gpu'] as const;
export type K8SliceResource = (typeof K8SLICE_RESOURCES)[number];

function q(text: string | undefined): bigint {
  // Schemas admit only valid quantities, so a miss here is a bug upstream.
  const v = text === undefined ? undefined : parseQuantity(text);
  if (v === undefined) throw new Error(`invalid quantity ${String(text)}`);
  return v;
}

const ONE_NANO = 1n;
const ONE_CORE = 1_000_000_000n;

/**
 * The texts a k8slice's numeric facts are made of, in this order from `at` in an array: cpu,
 * memory, pods, storage, gpu cores, then, when partitionable only, cpuMin, cpuStep, memoryMin,
 * memoryStep, podsMin, podsStep, gpuMin, gpuStep. null or undefined: absent. A flavor's
 * summary (flavor-summary.ts) holds them so, and a k8slice's are put so (k8sliceTexts), so
 * that both make their facts the same way.
 */
export type K8sliceTexts = ArrayLike<unknown>;
const CPU = 0;
const MEMORY = 1;
const PODS = 2;
const STORAGE = 3;
const GPU = 4;
const CPU_MIN = 5;
const CPU_STEP = 6;
const MEMORY_MIN = 7;
const MEMORY_STEP = 8;
const PODS_MIN = 9;
const PODS_STEP = 10;
const GPU_MIN = 11;
const GPU_STEP = 12;

export function k8sliceTexts(data: K8Slice): Array<string | undefined> {
  const c = data.characteristics;
  const p = data.policies?.partitionability;
  const t = [c.cpu, c.memory, c.pods, c.storage, c.gpu?.cores];
  if (p) t.push(p.cpuMin, p.cpuStep, p.memoryMin, p.memoryStep, p.podsMin, p.podsStep);
  if (p) t.push(p.gpuMin, p.gpuStep);
  return t;
}

/** The text at `i` of the texts from `at`; undefined when absent. */
const text = (t: K8sliceTexts, at: number, i: number): string | undefined =>
  (t[at + i] as string | null | undefined) ?? undefined;

/**
 * The offered sizes of each resource of a k8slice. A partitionable one offers its minimum
 * plus steps up to what is unsold; storage (no policy in REAR) any amount up to what is
 * unsold; gpu cores from gpuMin (default 0) in gpuStep (default one core).
 */
export function k8sliceGrids(data: K8Slice): Record<K8SliceResource, Grid | undefined> {
  return gridsOf(k8sliceTexts(data), 0);
}

function gridsOf(t: K8sliceTexts, at: number): Record<K8SliceResource, Grid | undefined> {
  const x = (i: number): string | undefined => text(t, at, i);
  const cores = x(GPU);
  const gpu = cores === undefined ? 0n : q(cores);
  const storage = x(STORAGE);
  if (t.length <= at + CPU_MIN) {
    return {
      cpu: fixed(q(x(CPU))),
      memory: fixed(q(x(MEMORY))),
      pods: fixed(q(x(PODS))),
      storage: storage === undefined ? undefined : fixed(q(storage)),
      gpu: fixed(gpu),
    };
  }
  const gpuMin = x(GPU_MIN);
  const gpuStep = x(GPU_STEP);
  return {
    cpu: { min: q(x(CPU_MIN)), step: q(x(CPU_STEP)), max: q(x(CPU)) },
    memory: { min: q(x(MEMORY_MIN)), step: q(x(MEMORY_STEP)), max: q(x(MEMORY)) },
    pods: { min: q(x(PODS_MIN)), step: q(x(PODS_STEP)), max: q(x(PODS)) },
    storage: { min: 0n, step: ONE_NANO, max: storage === undefined ? 0n : q(storage) },
    gpu: {
      min: gpuMin === undefined ? 0n : q(gpuMin),
      step: gpuStep === undefined ? ONE_CORE : q(gpuStep),
      max: gpu,
    },
  };
}

function optionalNumber(n: number | undefined): Grid | undefined {
  if (n === undefined) return undefined;
  const v = parseQuantity(String(n));
  return v === undefined ? undefined : fixed(v);
}

function nums(grids: Record<string, Grid | undefined>): Record<string, NumFact | undefined> {
  const out: Record<string, NumFact | undefined> = {};
  for (const [k, g] of Object.entries(grids)) if (g) out[k] = numFact(g);
  return out;
}

/**
 * Numeric facts and prices made once per distinct value and shared by every flavor that has
 * it: flavors repeat a few sizes, steps and prices, and parsing them (bigint arithmetic, a
 * grid per resource) was most of rebuilding the catalog at a restart. A shared fact is never
 * changed (withUnsold makes new ones). Looked up through a Map per text rather than by a
 * joined key: the texts come from JSON.parse, short ones interned with their hash, so a
 * lookup hashes nothing. Bounded: a memo is emptied when full, so unusual values cost only
 * their own parse.
 */
const MEMO_MAX = 4096;
const ABSENT = '\u0000absent';

class Memo<T> {
  private readonly root = new Map<string, Map<string, Map<string, T>>>();
  private size = 0;

  peek(a: string | undefined, b: string | undefined, c: string | undefined): T | undefined {
    return this.root
      .get(a ?? ABSENT)
      ?.get(b ?? ABSENT)
      ?.get(c ?? ABSENT);
  }

  put(a: string | undefined, b: string | undefined, c: string | undefined, v: T): void {
    if (++this.size > MEMO_MAX) {
      this.root.clear();
      this.size = 1;
    }
    let m1 = this.root.get(a ?? ABSENT);
    if (!m1) this.root.set(a ?? ABSENT, (m1 = new Map()));
    let m2 = m1.get(b ?? ABSENT);
    if (!m2) m1.set(b ?? ABSENT, (m2 = new Map()));
    m2.set(c ?? ABSENT, v);
  }
}

type K8sliceMemos = Record<K8SliceResource, Memo<NumFact | null>>;
const k8sliceMemos = (): K8sliceMemos => ({
  cpu: new Memo(),
  memory: new Memo(),
  pods: new Memo(),
  storage: new Memo(),
  gpu: new Memo(),
});
/** A resource's fact by its min, step and max texts; apart for fixed and partitionable. */
const FIXED = k8sliceMemos();
const PARTITIONABLE = k8sliceMemos();
/** Prices by their text: one lookup (a Memo's three levels are for the quantities). */
const prices = new Map<string, bigint>();
const NO_TAGS: readonly string[] = [];

/**
 * What gridsOf gives, as numeric facts, each looked up by the texts it is made of (no closure
 * or object made per flavor but the record: a restart makes 100,000 of these).
 */
function k8sliceNums(t: K8sliceTexts, at: number): Record<string, NumFact | undefined> {
  const part = t.length > at + CPU_MIN;
  const memos = part ? PARTITIONABLE : FIXED;
  const out: Record<string, NumFact | undefined> = {};
  const x = (i: number): string | undefined => (part ? text(t, at, i) : undefined);
  num(out, t, at, memos.cpu, 'cpu', x(CPU_MIN), x(CPU_STEP), text(t, at, CPU));
  num(out, t, at, memos.memory, 'memory', x(MEMORY_MIN), x(MEMORY_STEP), text(t, at, MEMORY));
  num(out, t, at, memos.pods, 'pods', x(PODS_MIN), x(PODS_STEP), text(t, at, PODS));
  num(out, t, at, memos.storage, 'storage', undefined, undefined, text(t, at, STORAGE));
  num(out, t, at, memos.gpu, 'gpu', x(GPU_MIN), x(GPU_STEP), text(t, at, GPU));
  return out;
}

/** One resource's fact into `out`, from its memo or made (all grids made on a miss). */
function num(
  out: Record<string, NumFact | undefined>,
  t: K8sliceTexts,
  at: number,
  memo: Memo<NumFact | null>,
  r: K8SliceResource,
  min: string | undefined,
  step: string | undefined,
  max: string | undefined,
): void {
  let fact = memo.peek(min, step, max);
  if (fact === undefined) {
    const g = gridsOf(t, at)[r];
    fact = g ? numFact(g) : null;
    memo.put(min, step, max, fact);
  }
  if (fact) out[r] = fact;
}

/**
 * A k8slice's facts from its texts (K8sliceTexts from `at`) and architecture: what factsOf
 * gives for one, and what a summary gives without the flavor.
 */
export function k8sliceFacts(
  providerId: string,
  amount: string,
  architecture: string | undefined,
  t: K8sliceTexts,
  at: number,
): FlavorFacts {
  const price = priceOf(amount);
  return {
    type: 'k8slice',
    providerId,
    price,
    priceF: Number(price),
    nums: k8sliceNums(t, at),
    strings: { architecture },
    tags: NO_TAGS,
  };
}

/** A price's amount in its smallest units, shared between equal texts. */
export function priceOf(amount: string): bigint {
  let price = prices.get(amount);
  if (price === undefined) {
    if (prices.size >= MEMO_MAX) prices.clear();
    prices.set(amount, (price = parseDecimal(amount) ?? 0n));
  }
  return price;
}

export function factsOf(flavor: Flavor): FlavorFacts {
  const t = flavor.type;
  const price = priceOf(flavor.price.amount);
  const facts = (
    nums: FlavorFacts['nums'],
    strings: FlavorFacts['strings'],
    tags: readonly string[],
  ): FlavorFacts => ({
    type: t.name,
    providerId: flavor.providerId,
    price,
    priceF: Number(price),
    nums,
    strings,
    tags,
  });
  switch (t.name) {
    case 'k8slice':
      return k8sliceFacts(
        flavor.providerId,
        flavor.price.amount,
        t.data.characteristics.architecture,
        k8sliceTexts(t.data),
        0,
      );
    case 'vm': {
      const c = t.data.Characteristics;
      return facts(
        nums({
          cpu: c.CPU === undefined ? undefined : fixed(fromInteger(c.CPU)),
          memory: c.Memory === undefined ? undefined : fixed(fromInteger(c.Memory)),
          storage: c.Storage === undefined ? undefined : fixed(fromInteger(c.Storage)),
          gpu: fixed(fromInteger(c.GPU?.GPUCores ?? 0)),
        }),
        { architecture: c.Architecture, os: c.OS },
        NO_TAGS,
      );
    }
    case 'service':
      return facts({}, { category: t.data.Characteristics.Category }, t.data.Characteristics.Tags);
    case 'sensor': {
      const c = t.data.Characteristics;
      return facts(
        nums({ sampling_rate: optionalNumber(c.SamplingRate) }),
        {
          sensor_type: c.SensorType,
          sensor_model: c.SensorModel,
          sensor_manufacturer: c.SensorManufacturer,
        },
        NO_TAGS,
      );
    }
  }
}

/**
 * The facts of a partitionable k8slice once `left` (in K8SLICE_RESOURCES order) is what is
 * unsold: only each resource's largest size moves, so a sale parses nothing again.
 */
export function withUnsold(facts: FlavorFacts, left: readonly bigint[]): FlavorFacts {
  const nums = { ...facts.nums };
  for (let i = 0; i < K8SLICE_RESOURCES.length; i++) {
    const r = K8SLICE_RESOURCES[i] as K8SliceResource;
    const f = nums[r];
    const max = left[i] as bigint;
    // A resource the sale took none of (most often storage and gpu) keeps its fact.
    if (f && f.grid.max !== max) nums[r] = numFact({ min: f.grid.min, step: f.grid.step, max });
  }
  return { ...facts, nums };
}
