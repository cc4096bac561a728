/**
 * What a reservation takes from a flavor, and what a sale leaves. A whole flavor is one unit;
 * a partitionable k8slice is a vector of resources (cpu, memory, pods, storage, gpu) and an
 * aggregatable vm a count of machines, from which several holds may be taken at once.
 */
import { HubError } from '../errors.js';
import { lazyValidator } from '../schemas.js';
import type {
  Configuration,
  Flavor,
  ModificationDetail,
  K8Slice,
  K8SliceCharacteristics,
  K8SliceConfigurationData,
  ServiceConfigurationData,
  VmConfigurationData,
} from '../types/wire.js';
import {
  K8SLICE_RESOURCES,
  withUnsold,
  type FlavorFacts,
  type K8SliceResource,
} from './flavor-facts.js';
import { diffFields } from './events.js';
import { remainderOf, type FlavorEntry } from './flavor-entry.js';
import { templateValidator } from './flavor-rules.js';
import { gridMiss, type NumFact } from './grid.js';
import { formatQuantity, parseKnownQuantity } from './quantity.js';

/** A hold's share: the whole flavor, or amounts of its pool's resources. */
export type Need =
  { readonly whole: true } | { readonly whole: false; readonly amounts: readonly bigint[] };

export const WHOLE: Need = { whole: true };

const validK8s = lazyValidator<K8SliceConfigurationData>('K8SliceConfigurationData');
const validVm = lazyValidator<VmConfigurationData>('VmConfigurationData');
const validService = lazyValidator<ServiceConfigurationData>('ServiceConfigurationData');

function invalid(message: string): HubError {
  return new HubError('INVALID_CONFIGURATION', message);
}

function ajvMessage(errors: typeof validK8s.errors): string {
  const e = errors?.[0];
  return e ? `${e.instancePath || 'data'} ${e.message ?? 'is invalid'}` : 'is invalid';
}

/** The GPU cores a k8slice Configuration asks for: REAR's {model, cores, memory} or a bare quantity. */
function gpuCores(data: K8SliceConfigurationData): string | undefined {
  const g = data.gpu;
  return typeof g === 'object' ? g.cores : g;
}

/** The JSON a string holds, or undefined (a value no template of an object accepts as such). */
function jsonIn(value: unknown): unknown {
  if (typeof value !== 'string') return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/** The unsold amounts of a pooled flavor, or undefined for a whole-unit flavor. */
export function unsold(entry: FlavorEntry): bigint[] | undefined {
  const t = entry.flavor.type;
  if (t.name === 'k8slice' && t.data.policies?.partitionability) {
    // The facts already hold every quantity parsed: no parsing on the reserve path.
    return K8SLICE_RESOURCES.map((r) => (entry.facts.nums[r] as NumFact).grid.max);
  }
  if (t.name === 'vm' && t.data.Policy) return [BigInt(t.data.Policy.Aggregatable.MaxCount)];
  return undefined;
}

/**
 * What a reservation with this Configuration takes, checked against the flavor's policy and
 * what is unsold (not what is free of holds: a need that fits the unsold waits for holds).
 */
export function needFor(entry: FlavorEntry, config: Configuration | undefined): Need {
  if (!config) return WHOLE;
  const t = entry.flavor.type;
  if (config.type !== t.name) {
    throw invalid(`Configuration.type ${config.type} does not fit a ${t.name} flavor`);
  }
  switch (t.name) {
    case 'k8slice':
      return k8sliceNeed(entry, t.data, config.data);
    case 'vm': {
      const policy = t.data.Policy?.Aggregatable;
      if (!policy)
        throw invalid('This vm flavor is not aggregatable: reserve it without a Configuration');
      if (!validVm(config.data)) throw invalid(`Configuration.data ${ajvMessage(validVm.errors)}`);
      const count = config.data.Count;
      if (count < policy.MinCount)
        throw invalid(`Count ${count} is below MinCount ${policy.MinCount}`);
      if (count > policy.MaxCount)
        throw invalid(`Count ${count} is more than the ${policy.MaxCount} machines unsold`);
      return { whole: false, amounts: [BigInt(count)] };
    }
    case 'service': {
      const c = t.data.Characteristics;
      if (!validService(config.data))
        throw invalid(`Configuration.data ${ajvMessage(validService.errors)}`);
      const { HostingPolicy, ConfigurationData } = config.data;
      if (HostingPolicy !== undefined && !c.HostingPolicies.includes(HostingPolicy)) {
        throw invalid(
          `HostingPolicy ${HostingPolicy} is not one of ${c.HostingPolicies.join(', ')}`,
        );
      }
      const validate = templateValidator(c.ConfigurationTemplate);
      // REAR types ConfigurationData as a string holding the parameters: one that the template
      // refuses as a string is checked as the JSON it holds.
      if (!validate(ConfigurationData)) {
        const message = ajvMessage(validate.errors);
        const held = jsonIn(ConfigurationData);
        if (held === undefined || !validate(held))
          throw invalid(`ConfigurationData does not satisfy the ConfigurationTemplate: ${message}`);
      }
      return WHOLE;
    }
    case 'sensor':
      throw invalid('A sensor flavor takes no Configuration');
  }
}

function k8sliceNeed(entry: FlavorEntry, data: K8Slice, raw: Configuration['data']): Need {
  if (!data.policies?.partitionability)
    throw invalid('This k8slice flavor is not partitionable: reserve it without a Configuration');
  if (!validK8s(raw)) throw invalid(`Configuration.data ${ajvMessage(validK8s.errors)}`);
  const arch = data.characteristics.architecture;
  if (raw.architecture !== undefined && arch !== undefined && raw.architecture !== arch)
    throw invalid(`architecture ${raw.architecture} is not the flavor's (${arch})`);
  const nums = entry.facts.nums;
  const amounts = K8SLICE_RESOURCES.map((r) => {
    const text = r === 'gpu' ? gpuCores(raw) : raw[r];
    if (text === undefined) {
      if (r === 'storage' || r === 'gpu') return 0n;
      throw invalid(`Configuration.data.${r} is required`);
    }
    const v = parseKnownQuantity(text) as bigint;
    if ((r === 'storage' || r === 'gpu') && v === 0n) return 0n;
    const miss = gridMiss((nums[r] as NumFact).grid, v);
    if (miss) throw invalid(`${r} ${text} is ${miss}`);
    return v;
  });
  return { whole: false, amounts };
}

/** Whether `need` can be held now, given the unsold amounts and the needs already held. */
export function fits(
  need: Need,
  unsoldAmounts: readonly bigint[] | undefined,
  held: readonly Need[],
): boolean {
  if (held.some((h) => h.whole)) return false;
  if (need.whole) return held.length === 0;
  if (!unsoldAmounts) return held.length === 0;
  return need.amounts.every((a, i) => {
    let used = a;
    for (const h of held) if (!h.whole) used += h.amounts[i] as bigint;
    return used <= (unsoldAmounts[i] as bigint);
  });
}

/** Whether `need` could ever be met from these unsold amounts. */
export function possible(need: Need, unsoldAmounts: readonly bigint[] | undefined): boolean {
  if (need.whole || !unsoldAmounts) return true;
  return need.amounts.every((a, i) => a <= (unsoldAmounts[i] as bigint));
}

/**
 * What stays on offer after a sale: its flavor, its facts (derived, not parsed again) and the
 * sale's ModificationDetails (as diffFields finds them between the flavor and the remainder).
 */
export interface Remainder {
  readonly flavor: Flavor;
  readonly facts: FlavorFacts;
  readonly changes: ModificationDetail[];
}

/** The JSON of a sale's flavor as sold (`sale`'s `sold`): the entry's, or spliced from it. */
export function soldJson(entry: FlavorEntry, sold: Flavor): string {
  return sold === entry.flavor ? entry.json : entry.withType(sold.type);
}

/** The remainder as the flavor's next entry (flavor-entry.ts remainderOf), and what changed. */
export function remainderEntry(
  entry: FlavorEntry,
  remainder: Remainder,
): { next: FlavorEntry; changes: ModificationDetail[] } {
  return {
    next: remainderOf(entry, remainder.flavor, remainder.facts),
    changes: remainder.changes,
  };
}

/** The dotted paths of the fields a partition's sale changes (diffFields' names for them). */
const CHANGED = {
  cpu: 'type.data.characteristics.cpu',
  memory: 'type.data.characteristics.memory',
  pods: 'type.data.characteristics.pods',
  storage: 'type.data.characteristics.storage',
  gpu: 'type.data.characteristics.gpu.cores',
} as const;

/**
 * The flavor as sold (for the contract) and what stays on offer (undefined when the flavor
 * is sold out: a whole sale, or a remainder under the policy's minimum).
 */
export function sale(
  entry: FlavorEntry,
  need: Need,
  config: Configuration | undefined,
): { sold: Flavor; remainder?: Remainder } {
  const flavor = entry.flavor;
  const t = flavor.type;
  if (need.whole) return { sold: flavor };
  if (t.name === 'k8slice' && t.data.policies?.partitionability)
    return partitionSale(
      entry,
      t.data,
      need.amounts,
      config?.data as unknown as K8SliceConfigurationData,
    );
  if (t.name === 'vm' && t.data.Policy) {
    const count = Number(need.amounts[0]);
    const agg = t.data.Policy.Aggregatable;
    const { Policy: _policy, ...machine } = t.data;
    const soldData = { ...machine, Count: count };
    const sold: Flavor = { ...flavor, type: { name: 'vm', data: soldData } };
    const left = agg.MaxCount - count;
    if (left < agg.MinCount) return { sold };
    const remainder: Flavor = {
      ...flavor,
      type: {
        name: 'vm',
        data: { ...t.data, Policy: { Aggregatable: { ...agg, MaxCount: left } } },
      },
    };
    // A vm's facts describe one machine; how many are left is not among them.
    return {
      sold,
      remainder: {
        flavor: remainder,
        facts: entry.facts,
        changes: diffFields(t, remainder.type, 'type'),
      },
    };
  }
  return { sold: flavor };
}

/**
 * `sale` of a partition of a pooled k8slice. Written out rather than with conditional spreads
 * (which made a temporary object per optional field), and its ModificationDetails read off
 * the characteristics it rewrites, in their key order, instead of walking the two flavors: 1.4
 * KiB less allocated per sale (docs/benchmarks.md, seventeenth session). A property test checks
 * both against serializing and diffing the whole flavors.
 */
function partitionSale(
  entry: FlavorEntry,
  data: K8Slice,
  amounts: readonly bigint[],
  asked: K8SliceConfigurationData,
): { sold: Flavor; remainder?: Remainder } {
  const flavor = entry.flavor;
  const c = data.characteristics;
  const storage = amounts[3] as bigint;
  const gpu = amounts[4] as bigint;
  // The sold part is not partitionable: its policies are empty (REAR's k8slice requires
  // a `policies` object, in which partitionability is optional).
  const soldC: K8SliceCharacteristics =
    c.architecture !== undefined
      ? { architecture: c.architecture, cpu: asked.cpu, memory: asked.memory, pods: asked.pods }
      : { cpu: asked.cpu, memory: asked.memory, pods: asked.pods };
  if (storage > 0n) soldC.storage = asked.storage as string;
  if (c.gpu && gpu > 0n) soldC.gpu = { ...c.gpu, cores: gpuCores(asked) as string };
  const sold: Flavor = {
    ...flavor,
    type: { name: 'k8slice', data: { ...data, policies: {}, characteristics: soldC } },
  };
  const left = (unsold(entry) as bigint[]).map((u, i) => u - (amounts[i] as bigint));
  const min = (r: K8SliceResource) => (entry.facts.nums[r] as NumFact).grid.min;
  if (
    (left[0] as bigint) < min('cpu') ||
    (left[1] as bigint) < min('memory') ||
    (left[2] as bigint) < min('pods')
  )
    return { sold };
  const rc: K8SliceCharacteristics = { ...c };
  rc.cpu = formatQuantity(left[0] as bigint);
  rc.memory = formatQuantity(left[1] as bigint, true);
  rc.pods = formatQuantity(left[2] as bigint);
  if (c.storage !== undefined) rc.storage = formatQuantity(left[3] as bigint, true);
  if (c.gpu) rc.gpu = { ...c.gpu, cores: formatQuantity(left[4] as bigint) };
  const changes: ModificationDetail[] = [];
  for (const k in c) {
    if (k === 'gpu') {
      const before = c.gpu?.cores;
      const after = rc.gpu?.cores;
      if (before !== after)
        changes.push({ FieldModified: CHANGED.gpu, OldValue: before, NewValue: after });
    } else if (k === 'cpu' || k === 'memory' || k === 'pods' || k === 'storage') {
      const before = c[k];
      const after = rc[k];
      if (before !== after)
        changes.push({ FieldModified: CHANGED[k], OldValue: before, NewValue: after });
    }
  }
  return {
    sold,
    remainder: {
      flavor: { ...flavor, type: { name: 'k8slice', data: { ...data, characteristics: rc } } },
      facts: withUnsold(entry.facts, left),
      changes,
    },
  };
}
