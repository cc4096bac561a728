/**
 * The demo catalog: 44 flavors over all four types from three providers, with varied
 * characteristics, prices and lifetimes — most renew themselves, some are left to expire,
 * so a fresh `npm start` shows the catalog scheduler at work.
 */
import type { Market } from '../domain/market.js';
import type { Principal } from '../domain/principal.js';
import type { FlavorPublish, TokenEntry } from '../types/wire.js';

const CITIES: Record<
  string,
  { city: string; country: string; latitude: string; longitude: string }
> = {
  'provider-milan': { city: 'Milan', country: 'IT', latitude: '45.4642', longitude: '9.1900' },
  'provider-turin': { city: 'Turin', country: 'IT', latitude: '45.0703', longitude: '7.6869' },
  'provider-paris': { city: 'Paris', country: 'FR', latitude: '48.8566', longitude: '2.3522' },
};

function price(amount: number): FlavorPublish['price'] {
  return { amount: amount.toFixed(2), currency: 'EUR', period: 'hour' };
}

/** Lifetimes: mostly renewing, every fifth left to expire after a few minutes. */
function lifetime(i: number): Pick<FlavorPublish, 'ttlSeconds' | 'autoRenew'> {
  return i % 5 === 4
    ? { ttlSeconds: 180 + 60 * (i % 4), autoRenew: false }
    : { ttlSeconds: 60 + 30 * (i % 4), autoRenew: true };
}

export function demoFlavors(providerIndex: number): FlavorPublish[] {
  const out: FlavorPublish[] = [];
  const p = providerIndex;
  for (let i = 0; i < 6; i++) {
    const cpu = [2, 4, 8, 16, 32, 64][i] as number;
    const partitionable = i % 2 === 1;
    out.push({
      type: {
        name: 'k8slice',
        data: {
          characteristics: {
            architecture: i % 3 === 2 ? 'arm64' : 'amd64',
            cpu: String(cpu),
            memory: `${cpu * 4}Gi`,
            pods: String(30 * (i + 1)),
            storage: `${cpu * 25}Gi`,
            ...(i >= 4
              ? { gpu: { model: 'nvidia-a100', cores: String(i - 2), memory: '40Gi' } }
              : {}),
          },
          properties: {
            latency: 5 + 10 * p + i,
            carbonFootprint: { embodied: 100 + 10 * i, operational: [50 + p * 10] },
          },
          ...(partitionable
            ? {
                policies: {
                  partitionability: {
                    cpuMin: '1',
                    memoryMin: '2Gi',
                    podsMin: '10',
                    cpuStep: '1',
                    memoryStep: '2Gi',
                    podsStep: '10',
                    ...(i >= 4 ? { gpuMin: '1', gpuStep: '1' } : {}),
                  },
                },
              }
            : {}),
        },
      },
      price: price(cpu * (0.04 + 0.01 * p) + i * 0.5),
      location: { ...(CITIES[Object.keys(CITIES)[p] as string] ?? {}) },
      networkPropertyType: p === 2 ? 'public' : 'private',
      ...lifetime(i + p),
    });
  }
  for (let i = 0; i < 4; i++) {
    const aggregatable = i % 2 === 0;
    out.push({
      type: {
        name: 'vm',
        data: {
          Characteristics: {
            Architecture: 'amd64',
            OS: ['ubuntu-24.04', 'debian-12', 'rocky-9', 'windows-2022'][i] as string,
            CPU: 2 ** (i + 1),
            Memory: 4096 * 2 ** i,
            Storage: 50 * (i + 1),
            ...(i === 3 ? { GPU: { GPUModel: 'nvidia-l4', GPUCores: 1 } } : {}),
          },
          ...(aggregatable
            ? { Policy: { Aggregatable: { MinCount: 1, MaxCount: 4 + 2 * i } } }
            : {}),
        },
      },
      price: price(0.05 * 2 ** (i + 1) + p * 0.02),
      location: { ...(CITIES[Object.keys(CITIES)[p] as string] ?? {}) },
      ...lifetime(i + 2 * p + 1),
    });
  }
  const services = [
    ['PostgreSQL 16', 'database', ['sql', 'postgres', 'managed']],
    ['Redis 7', 'cache', ['redis', 'in-memory']],
    ['MQTT broker', 'messaging', ['mqtt', 'iot']],
  ] as const;
  for (let i = 0; i < (p === 0 ? 3 : 2); i++) {
    const [name, category, tags] = services[(i + p) % services.length] as (typeof services)[number];
    out.push({
      type: {
        name: 'service',
        data: {
          Characteristics: {
            Name: name,
            Description: `${name}, operated by ${Object.keys(CITIES)[p]}`,
            Category: category,
            Tags: [...tags],
            HostingPolicies: ['provider', 'consumer'],
            ConfigurationTemplate: {
              type: 'object',
              required: ['username'],
              properties: {
                username: { type: 'string', minLength: 1 },
                replicas: { type: 'integer', minimum: 1, maximum: 5 },
              },
            },
          },
        },
      },
      price: price(0.3 + 0.1 * i + 0.05 * p),
      ...lifetime(i + p + 2),
    });
  }
  const sensors = [
    ['temperature', 'TMP117', 'Texas Instruments', 1],
    ['humidity', 'SHT45', 'Sensirion', 0.5],
    ['air-quality', 'SPS30', 'Sensirion', 0.2],
  ] as const;
  for (let i = 0; i < (p === 2 ? 3 : 2); i++) {
    const [type, model, maker, rate] = sensors[
      (i + p) % sensors.length
    ] as (typeof sensors)[number];
    out.push({
      type: {
        name: 'sensor',
        data: {
          Characteristics: {
            SensorType: type,
            SensorModel: model,
            SensorManufacturer: maker,
            SamplingRate: rate,
            Interface: 'mqtt',
          },
          AccessType: 'stream',
        },
      },
      price: price(0.01 + 0.01 * i + 0.005 * p),
      location: { ...(CITIES[Object.keys(CITIES)[p] as string] ?? {}) },
      ...lifetime(i + 3 * p),
    });
  }
  return out;
}

/** Publishes the demo catalog through the market when it is empty (a first start). */
export async function seedDemoCatalog(
  market: Market,
  tokens: readonly TokenEntry[],
): Promise<number> {
  if (market.catalog.size > 0) return 0;
  const providers = tokens.filter((t) => t.role === 'provider').slice(0, 3);
  let n = 0;
  for (const [i, t] of providers.entries()) {
    const principal: Principal = { role: t.role, identity: t.identity };
    for (const body of demoFlavors(i)) {
      await market.offers.publish(principal, body);
      n++;
    }
  }
  return n;
}
