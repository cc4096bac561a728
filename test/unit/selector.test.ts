import { describe, expect, it } from 'vitest';
import { factsOf } from '../../src/domain/flavor-facts.js';
import {
  compileSelector,
  parseJsonSelector,
  parseQuerySelector,
} from '../../src/domain/selector.js';
import { HubError } from '../../src/errors.js';
import type { Flavor, FlavorType } from '../../src/types/wire.js';

function flavor(type: FlavorType, over: Partial<Flavor> = {}): Flavor {
  return {
    flavorId: 'fl-1',
    providerId: 'prov-a',
    timestamp: '2026-01-01T00:00:00.000Z',
    expirationTime: '2026-01-01T01:00:00.000Z',
    type,
    price: { amount: '2.50', currency: 'EUR', period: 'hour' },
    owner: { domain: 'a', nodeId: 'prov-a', ip: '1.1.1.1' },
    availability: true,
    ...over,
  };
}

const slice = (c: Record<string, unknown>, partition?: Record<string, string>): Flavor =>
  flavor({
    name: 'k8slice',
    data: {
      characteristics: {
        cpu: '4',
        memory: '8Gi',
        pods: '110',
        architecture: 'amd64',
        ...c,
      } as never,
      ...(partition
        ? {
            policies: {
              partitionability: {
                cpuMin: '1',
                memoryMin: '1Gi',
                podsMin: '10',
                cpuStep: '1',
                memoryStep: '1Gi',
                podsStep: '10',
                ...partition,
              },
            },
          }
        : {}),
    },
  });

const vm = flavor({
  name: 'vm',
  data: {
    Characteristics: {
      Architecture: 'amd64',
      OS: 'ubuntu',
      CPU: 4,
      Memory: 8192,
      Storage: 100,
      GPU: { GPUModel: 'l4', GPUCores: 2 },
    },
  },
});
const service = flavor({
  name: 'service',
  data: {
    Characteristics: {
      Name: 'pg',
      Description: '',
      Category: 'database',
      Tags: ['sql', 'managed'],
      HostingPolicies: ['provider'],
      ConfigurationTemplate: {},
    },
  },
});
const sensor = flavor({
  name: 'sensor',
  data: {
    Characteristics: {
      SensorType: 'temperature',
      SensorModel: 'TMP117',
      SensorManufacturer: 'TI',
      SamplingRate: 0.5,
    },
  },
});

function q(
  type: Parameters<typeof parseQuerySelector>[0],
  query: Record<string, string>,
  f: Flavor,
): boolean {
  return parseQuerySelector(type, query).test(factsOf(f));
}

function errorOf(fn: () => unknown): HubError {
  try {
    fn();
  } catch (err) {
    return err as HubError;
  }
  throw new Error('expected an error');
}

describe('k8slice selectors', () => {
  const f = slice({ gpu: { model: 'a100', cores: '2', memory: '40Gi' }, storage: '100Gi' });
  it('match and range on quantities, compared as numbers', () => {
    expect(q('k8slice', { 'filter[cpu][match]': '4000m' }, f)).toBe(true);
    expect(q('k8slice', { 'filter[cpu][exact]': '4' }, f)).toBe(true);
    expect(q('k8slice', { 'filter[cpu][match]': '3' }, f)).toBe(false);
    expect(q('k8slice', { 'filter[memory][range][min]': '8G' }, f)).toBe(true);
    expect(q('k8slice', { 'filter[memory][range][min]': '9G' }, f)).toBe(false);
    expect(q('k8slice', { 'filter[memory][range][max]': '8Gi' }, f)).toBe(true);
    expect(
      q('k8slice', { 'filter[pods][range][min]': '100', 'filter[pods][range][max]': '110' }, f),
    ).toBe(true);
    expect(q('k8slice', { 'filter[storage][range][min]': '100Gi' }, f)).toBe(true);
    expect(q('k8slice', { 'filter[gpu][match]': '2' }, f)).toBe(true);
    expect(q('k8slice', { 'filter[architecture][match]': 'amd64' }, f)).toBe(true);
    expect(q('k8slice', { 'filter[architecture][match]': 'arm64' }, f)).toBe(false);
  });

  it('combines filters with AND', () => {
    expect(
      q('k8slice', { 'filter[cpu][range][min]': '2', 'filter[architecture][match]': 'amd64' }, f),
    ).toBe(true);
    expect(
      q('k8slice', { 'filter[cpu][range][min]': '2', 'filter[architecture][match]': 'arm64' }, f),
    ).toBe(false);
  });

  it('a flavor without a GPU offers 0 cores; without storage matches no storage filter', () => {
    const plain = slice({});
    expect(q('k8slice', { 'filter[gpu][match]': '0' }, plain)).toBe(true);
    expect(q('k8slice', { 'filter[gpu][range][min]': '1' }, plain)).toBe(false);
    expect(q('k8slice', { 'filter[storage][range][min]': '0' }, plain)).toBe(false);
  });

  it('matches a partitionable slice on what it can offer: min, min+step, … up to what is unsold', () => {
    const p = slice({ cpu: '8' }, { cpuMin: '2', cpuStep: '2' });
    expect(q('k8slice', { 'filter[cpu][match]': '2' }, p)).toBe(true);
    expect(q('k8slice', { 'filter[cpu][match]': '6' }, p)).toBe(true);
    expect(q('k8slice', { 'filter[cpu][match]': '8' }, p)).toBe(true);
    expect(q('k8slice', { 'filter[cpu][match]': '3' }, p)).toBe(false);
    expect(q('k8slice', { 'filter[cpu][match]': '1' }, p)).toBe(false);
    expect(q('k8slice', { 'filter[cpu][match]': '10' }, p)).toBe(false);
    expect(
      q('k8slice', { 'filter[cpu][range][min]': '3', 'filter[cpu][range][max]': '3' }, p),
    ).toBe(false);
    expect(
      q('k8slice', { 'filter[cpu][range][min]': '3', 'filter[cpu][range][max]': '4' }, p),
    ).toBe(true);
    expect(q('k8slice', { 'filter[cpu][range][max]': '1' }, p)).toBe(false);
    expect(q('k8slice', { 'filter[cpu][range][min]': '9' }, p)).toBe(false);
    expect(q('k8slice', { 'filter[memory][match]': '3Gi' }, p)).toBe(true);
    expect(q('k8slice', { 'filter[memory][match]': '1536Mi' }, p)).toBe(false);
  });
});

describe('other types', () => {
  it('vm fields', () => {
    expect(q('vm', { 'filter[cpu][range][min]': '4' }, vm)).toBe(true);
    expect(q('vm', { 'filter[memory][match]': '8192' }, vm)).toBe(true);
    expect(q('vm', { 'filter[storage][range][max]': '99' }, vm)).toBe(false);
    expect(q('vm', { 'filter[gpu][match]': '2' }, vm)).toBe(true);
    expect(q('vm', { 'filter[os][match]': 'ubuntu' }, vm)).toBe(true);
    expect(q('vm', { 'filter[architecture][match]': 'arm64' }, vm)).toBe(false);
  });
  it('service fields', () => {
    expect(q('service', { 'filter[category][match]': 'database' }, service)).toBe(true);
    expect(q('service', { 'filter[tags][match]': 'sql' }, service)).toBe(true);
    expect(q('service', { 'filter[tags][match]': 'nosql' }, service)).toBe(false);
  });
  it('sensor fields', () => {
    expect(q('sensor', { 'filter[sensor_type][match]': 'temperature' }, sensor)).toBe(true);
    expect(q('sensor', { 'filter[sensor_model][match]': 'TMP117' }, sensor)).toBe(true);
    expect(q('sensor', { 'filter[sensor_manufacturer][match]': 'TI' }, sensor)).toBe(true);
    expect(q('sensor', { 'filter[sampling_rate][range][min]': '0.5' }, sensor)).toBe(true);
    expect(q('sensor', { 'filter[sampling_rate][range][min]': '0.6' }, sensor)).toBe(false);
  });
  it('price and providerId apply to every type, with or without a type', () => {
    for (const f of [vm, service, sensor, slice({})]) {
      expect(
        q(
          undefined,
          { 'filter[price][range][min]': '2.5', 'filter[price][range][max]': '2.50' },
          f,
        ),
      ).toBe(true);
      expect(q(undefined, { 'filter[price][range][max]': '2.49' }, f)).toBe(false);
      expect(q(undefined, { 'filter[providerId][match]': 'prov-a' }, f)).toBe(true);
      expect(q(f.type.name, { 'filter[providerId][match]': 'prov-b' }, f)).toBe(false);
    }
  });
});

describe('selector errors name the offending key', () => {
  it.each([
    [{ 'filter[nope][match]': '1' }, 'filter[nope]'],
    [{ 'filter[cpu][between][min]': '1' }, 'filter[cpu][between]'],
    [{ 'filter[cpu][range][avg]': '1' }, 'filter[cpu][range][avg]'],
    [{ 'filter[cpu][range]': '1' }, 'filter[cpu][range]'],
    [{ 'filter[cpu][match][min]': '1' }, 'filter[cpu][match][min]'],
    [{ 'filter[cpu][match]': 'lots' }, 'filter[cpu][match]'],
    [{ 'filter[memory][range][min]': '1XB' }, 'filter[memory][range][min]'],
    [{ 'filter[cpu][match]': '1', 'filter[cpu][range][min]': '1' }, 'filter[cpu][range]'],
    [{ 'filter[cpu][match]': '1', 'filter[cpu][exact]': '1' }, 'filter[cpu][exact]'],
    [{ 'filter[architecture][range][min]': 'a' }, 'filter[architecture][range]'],
    [{ 'filter[price][match]': '1' }, 'filter[price][match]'],
    [{ 'filter[price][range][min]': 'cheap' }, 'filter[price][range][min]'],
    [{ 'filter[cpu][range][min]': '4', 'filter[cpu][range][max]': '2' }, 'filter[cpu][range][min]'],
    [{ sort: 'price' }, 'sort'],
    [{ 'filter[category][match]': 'db' }, 'filter[category]'],
  ])('%j', (query, key) => {
    const err = errorOf(() => parseQuerySelector('k8slice', query));
    expect(err).toBeInstanceOf(HubError);
    expect(err.code).toBe('INVALID_SELECTOR');
    expect(err.message.startsWith(key)).toBe(true);
  });

  it('a key given twice', () => {
    const err = errorOf(() => parseQuerySelector('k8slice', { 'filter[cpu][match]': ['1', '2'] }));
    expect(err.code).toBe('INVALID_SELECTOR');
  });

  it('a key given twice, keyed by its raw query string, fails every time', () => {
    const raw = 'filter[cpu][match]=1&filter[cpu][match]=2';
    const query = { 'filter[cpu][match]': ['1', '2'] };
    expect(errorOf(() => parseQuerySelector('k8slice', query, raw)).code).toBe('INVALID_SELECTOR');
    expect(errorOf(() => parseQuerySelector('k8slice', query, raw)).code).toBe('INVALID_SELECTOR');
  });

  it('type-specific fields need a type', () => {
    expect(errorOf(() => parseQuerySelector(undefined, { 'filter[cpu][match]': '1' })).code).toBe(
      'INVALID_SELECTOR',
    );
  });

  it('a JSON selector with an unknown type', () => {
    expect(errorOf(() => parseJsonSelector({ type: 'gpu' as never })).code).toBe(
      'INVALID_SELECTOR',
    );
  });
});

describe('selector keys', () => {
  it('equal selectors share a key whatever the spelling', () => {
    const a = compileSelector('k8slice', {
      cpu: { range: { min: '2' } },
      architecture: { match: 'amd64' },
    });
    const b = parseQuerySelector('k8slice', {
      'filter[architecture][exact]': 'amd64',
      'filter[cpu][range][min]': '2000m',
    });
    const c = parseJsonSelector({
      type: 'k8slices',
      filter: { architecture: { match: 'amd64' }, cpu: { range: { min: 2 } } },
    });
    expect(a.key).toBe(b.key);
    expect(a.key).toBe(c.key);
    expect(parseJsonSelector({}).key).not.toBe(a.key);
  });

  it('a query keyed by its raw string compiles as its parsed object does, per type', () => {
    const raw = 'filter[cpu][range][min]=2&filter[architecture][match]=amd64';
    const query = { 'filter[cpu][range][min]': '2', 'filter[architecture][match]': 'amd64' };
    const typed = parseQuerySelector('k8slice', query, raw);
    expect(typed.key).toBe(parseQuerySelector('k8slice', query).key);
    expect(parseQuerySelector('k8slice', query, raw)).toBe(typed);
    // The same string for the untyped route is another selector (cpu needs a type there).
    expect(errorOf(() => parseQuerySelector(undefined, query, raw)).code).toBe('INVALID_SELECTOR');
  });
});
