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

export function factsOf(flavor: Flavor): FlavorFacts {
  const t = flavor.type;
  const price = parseDecimal(flavor.price.amount) ?? 0n;
  const base = {
    type: t.name,
    providerId: flavor.providerId,
    price,
    priceF: Number(price),
  };
  switch (t.name) {
    case 'k8slice':
      return {
        ...base,
        nums: nums(k8sliceGrids(t.data)),
        strings: { architecture: t.data.characteristics.architecture },
        tags: [],
      };
    case 'vm': {
      const c = t.data.Characteristics;
      return {
        ...base,
        nums: nums({
          cpu: c.CPU === undefined ? undefined : fixed(fromInteger(c.CPU)),
          memory: c.Memory === undefined ? undefined : fixed(fromInteger(c.Memory)),
          storage: c.Storage === undefined ? undefined : fixed(fromInteger(c.Storage)),
          gpu: fixed(fromInteger(c.GPU?.GPUCores ?? 0)),
        }),
        strings: { architecture: c.Architecture, os: c.OS },
        tags: [],
      };
    }
    case 'service':
      return {
        ...base,
        nums: {},
        strings: { category: t.data.Characteristics.Category },
        tags: t.data.Characteristics.Tags,
      };
    case 'sensor': {
      const c = t.data.Characteristics;
      return {
        ...base,
        nums: nums({ sampling_rate: optionalNumber(c.SamplingRate) }),
        strings: {
          sensor_type: c.SensorType,
          sensor_model: c.SensorModel,
          sensor_manufacturer: c.SensorManufacturer,
        },
        tags: [],
      };
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
