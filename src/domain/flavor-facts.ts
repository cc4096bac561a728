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
 * The offered sizes of each resource of a k8slice. A partitionable one offers its minimum
 * plus steps up to what is unsold; storage (no policy in REAR) any amount up to what is
 * unsold; gpu cores from gpuMin (default 0) in gpuStep (default one core).
 */
export function k8sliceGrids(data: K8Slice): Record<K8SliceResource, Grid | undefined> {
  const c = data.characteristics;
  const gpu = c.gpu ? q(c.gpu.cores) : 0n;
  const p = data.policies?.partitionability;
  if (!p) {
    return {
      cpu: fixed(q(c.cpu)),
      memory: fixed(q(c.memory)),
      pods: fixed(q(c.pods)),
      storage: c.storage === undefined ? undefined : fixed(q(c.storage)),
      gpu: fixed(gpu),
    };
  }
  return {
    cpu: { min: q(p.cpuMin), step: q(p.cpuStep), max: q(c.cpu) },
    memory: { min: q(p.memoryMin), step: q(p.memoryStep), max: q(c.memory) },
    pods: { min: q(p.podsMin), step: q(p.podsStep), max: q(c.pods) },
    storage: { min: 0n, step: ONE_NANO, max: c.storage === undefined ? 0n : q(c.storage) },
    gpu: {
      min: p.gpuMin === undefined ? 0n : q(p.gpuMin),
      step: p.gpuStep === undefined ? ONE_CORE : q(p.gpuStep),
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

  get(a: string | undefined, b: string | undefined, c: string | undefined, make: () => T): T {
    const hit = this.root
      .get(a ?? ABSENT)
      ?.get(b ?? ABSENT)
      ?.get(c ?? ABSENT);
    if (hit !== undefined) return hit;
    const v = make();
    if (++this.size > MEMO_MAX) {
      this.root.clear();
      this.size = 1;
    }
    let m1 = this.root.get(a ?? ABSENT);
    if (!m1) this.root.set(a ?? ABSENT, (m1 = new Map()));
    let m2 = m1.get(b ?? ABSENT);
    if (!m2) m1.set(b ?? ABSENT, (m2 = new Map()));
    m2.set(c ?? ABSENT, v);
    return v;
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

/** What k8sliceGrids gives, as numeric facts, each looked up by the texts it is made of. */
function k8sliceNums(data: K8Slice): Record<string, NumFact | undefined> {
  const c = data.characteristics;
  const p = data.policies?.partitionability;
  const memos = p ? PARTITIONABLE : FIXED;
  let grids: Record<K8SliceResource, Grid | undefined> | undefined;
  const make = (r: K8SliceResource) => (): NumFact | null => {
    const g = (grids ??= k8sliceGrids(data))[r];
    return g ? numFact(g) : null;
  };
  const out: Record<string, NumFact | undefined> = {};
  const put = (r: K8SliceResource, fact: NumFact | null): void => {
    if (fact) out[r] = fact;
  };
  put('cpu', memos.cpu.get(p?.cpuMin, p?.cpuStep, c.cpu, make('cpu')));
  put('memory', memos.memory.get(p?.memoryMin, p?.memoryStep, c.memory, make('memory')));
  put('pods', memos.pods.get(p?.podsMin, p?.podsStep, c.pods, make('pods')));
  put('storage', memos.storage.get(undefined, undefined, c.storage, make('storage')));
  put('gpu', memos.gpu.get(p?.gpuMin, p?.gpuStep, c.gpu?.cores, make('gpu')));
  return out;
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
      return facts(
        k8sliceNums(t.data),
        { architecture: t.data.characteristics.architecture },
        NO_TAGS,
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
  K8SLICE_RESOURCES.forEach((r, i) => {
    const f = nums[r];
    if (f) nums[r] = numFact({ ...f.grid, max: left[i] as bigint });
  });
  return { ...facts, nums };
}
