/** Deterministic flavor generators for the benchmarks. */
import type { FlavorPublish } from '../../../src/types/wire.js';

export function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A k8slice with 1..64 CPU, 1..256 Gi, amd64 or arm64; every tenth is partitionable. */
export function listFlavor(r: () => number, i: number): FlavorPublish {
  const cpu = 1 + Math.floor(r() * 64);
  const mem = 1 + Math.floor(r() * 256);
  return {
    type: {
      name: 'k8slice',
      data: {
        characteristics: {
          architecture: r() < 0.5 ? 'amd64' : 'arm64',
          cpu: String(cpu),
          memory: `${mem}Gi`,
          pods: '110',
          storage: `${cpu * 20}Gi`,
        },
        ...(i % 10 === 0
          ? {
              policies: {
                partitionability: {
                  cpuMin: '1',
                  memoryMin: '1Gi',
                  podsMin: '10',
                  cpuStep: '1',
                  memoryStep: '1Gi',
                  podsStep: '10',
                },
              },
            }
          : {}),
      },
    },
    price: { amount: (0.05 * cpu + 0.01 * mem).toFixed(2), currency: 'EUR', period: 'hour' },
    location: { city: 'Turin', country: 'IT' },
    ttlSeconds: 86_400,
    autoRenew: true,
  };
}

/** A random 3-field selector (cpu min, memory min, architecture), tuned to 10–50 answers at 10k. */
export function randomSelectorQuery(r: () => number): string {
  const cpu = 58 + Math.floor(r() * 6);
  const mem = 210 + Math.floor(r() * 36);
  const arch = r() < 0.5 ? 'amd64' : 'arm64';
  return selectorQuery(cpu, mem, arch);
}

function selectorQuery(cpu: number, mem: number, arch: string): string {
  return `filter[cpu][range][min]=${cpu}&filter[memory][range][min]=${mem}Gi&filter[architecture][match]=${arch}`;
}

/** Every query randomSelectorQuery makes (432), each equally likely. */
export function allSelectorQueries(): string[] {
  const all: string[] = [];
  for (let cpu = 58; cpu < 64; cpu++)
    for (let mem = 210; mem < 246; mem++)
      for (const arch of ['amd64', 'arm64']) all.push(selectorQuery(cpu, mem, arch));
  return all;
}

/** A partitionable slice with room for many sales (P2). */
export function poolFlavor(): FlavorPublish {
  return {
    type: {
      name: 'k8slice',
      data: {
        characteristics: { cpu: '100000', memory: '100000Gi', pods: '1000000' },
        policies: {
          partitionability: {
            cpuMin: '1',
            memoryMin: '1Gi',
            podsMin: '1',
            cpuStep: '1',
            memoryStep: '1Gi',
            podsStep: '1',
          },
        },
      },
    },
    price: { amount: '0.10', currency: 'EUR', period: 'hour' },
    ttlSeconds: 86_400,
  };
}

/** The flavor whose refreshes are broadcast (P3–P5): an ordinary-sized offer. */
export function broadcastFlavor(): FlavorPublish {
  return {
    type: {
      name: 'k8slice',
      data: {
        characteristics: {
          architecture: 'amd64',
          cpu: '16',
          memory: '64Gi',
          pods: '110',
          storage: '500Gi',
        },
        properties: { latency: 12, securityStandards: ['ISO27001'] },
      },
    },
    price: { amount: '1.00', currency: 'EUR', period: 'hour' },
    location: { city: 'Milan', country: 'IT', latitude: '45.46', longitude: '9.19' },
    ttlSeconds: 86_400,
  };
}
