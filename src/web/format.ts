/** How the dashboard writes flavors: a one-line summary per type, prices, countdowns. */
import type { Flavor } from '../types/wire.js';

/** The page's one time source (the hub's is src/clock.ts). */
export const now = (): number => Date.now();

export function summary(f: Flavor): string {
  const t = f.type;
  switch (t.name) {
    case 'k8slice': {
      const c = t.data.characteristics;
      const parts = [`${c.cpu} CPU`, `${c.memory} RAM`, `${c.pods} pods`];
      if (c.storage) parts.push(`${c.storage} disk`);
      if (c.gpu) parts.push(`${c.gpu.cores}× ${c.gpu.model}`);
      if (c.architecture) parts.push(c.architecture);
      if (t.data.policies?.partitionability) parts.push('partitionable');
      return parts.join(' · ');
    }
    case 'vm': {
      const c = t.data.Characteristics;
      const parts: string[] = [];
      if (c.CPU !== undefined) parts.push(`${c.CPU} vCPU`);
      if (c.Memory !== undefined) parts.push(`${c.Memory} MiB`);
      if (c.Storage !== undefined) parts.push(`${c.Storage} GiB`);
      if (c.GPU) parts.push(`${c.GPU.GPUCores}× ${c.GPU.GPUModel}`);
      if (c.OS) parts.push(c.OS);
      const agg = t.data.Policy?.Aggregatable;
      if (agg) parts.push(`${agg.MaxCount} machines (min ${agg.MinCount})`);
      return parts.join(' · ');
    }
    case 'service': {
      const c = t.data.Characteristics;
      return `${c.Name} · ${c.Category}${c.Tags.length ? ` · ${c.Tags.join(', ')}` : ''}`;
    }
    case 'sensor': {
      const c = t.data.Characteristics;
      return [
        c.SensorType,
        c.SensorModel,
        c.SensorManufacturer,
        c.SamplingRate !== undefined ? `${c.SamplingRate} Hz` : undefined,
      ]
        .filter(Boolean)
        .join(' · ');
    }
  }
}

export function price(f: Flavor): string {
  return `${f.price.amount} ${f.price.currency}/${f.price.period}`;
}

/** "4m 05s", "12s", or "expired". */
export function countdown(untilMs: number, nowMs: number): string {
  const s = Math.floor((untilMs - nowMs) / 1000);
  if (s < 0) return 'expired';
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export function time(iso: string): string {
  return new Date(iso).toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** The flavor's own configuration defaults, for the reserve form. */
export function reserveDefaults(f: Flavor): Record<string, string> | undefined {
  const t = f.type;
  if (t.name === 'k8slice' && t.data.policies?.partitionability) {
    const p = t.data.policies.partitionability;
    return { cpu: p.cpuMin, memory: p.memoryMin, pods: p.podsMin };
  }
  if (t.name === 'vm' && t.data.Policy)
    return { Count: String(t.data.Policy.Aggregatable.MinCount) };
  return undefined;
}
