/**
 * Checks a published flavor's type data beyond what its schema can say: a partitionable
 * k8slice must offer at least its minimum with positive steps, an aggregatable vm needs
 * MinCount ≤ MaxCount, a service's ConfigurationTemplate must compile as a JSON Schema (given
 * as the schema, or — REAR's type for it — as a string holding the schema).
 */
import { Ajv } from 'ajv';
import { HubError } from '../errors.js';
import type { FlavorType } from '../types/wire.js';
import { parseQuantity } from './quantity.js';

const templateAjv = new Ajv({ strict: false, allErrors: false });

function qty(text: string): bigint {
  return parseQuantity(text) ?? 0n;
}

export function checkFlavorType(type: FlavorType): void {
  if (type.name === 'k8slice') {
    const p = type.data.policies?.partitionability;
    const c = type.data.characteristics;
    if (!p) return;
    const pairs: Array<[string, string, string, string | undefined]> = [
      ['cpu', c.cpu, p.cpuMin, p.cpuStep],
      ['memory', c.memory, p.memoryMin, p.memoryStep],
      ['pods', c.pods, p.podsMin, p.podsStep],
    ];
    for (const [name, total, min, step] of pairs) {
      if (qty(min) > qty(total)) {
        throw new HubError(
          'INVALID_REQUEST',
          `partitionability.${name}Min is more than the flavor's ${name}`,
        );
      }
      if (step !== undefined && qty(step) === 0n) {
        throw new HubError('INVALID_REQUEST', `partitionability.${name}Step must be positive`);
      }
      if (qty(min) === 0n) {
        throw new HubError('INVALID_REQUEST', `partitionability.${name}Min must be positive`);
      }
    }
    if (p.gpuStep !== undefined && qty(p.gpuStep) === 0n) {
      throw new HubError('INVALID_REQUEST', 'partitionability.gpuStep must be positive');
    }
  } else if (type.name === 'vm') {
    const a = type.data.Policy?.Aggregatable;
    if (a && a.MinCount > a.MaxCount) {
      throw new HubError('INVALID_REQUEST', 'Policy.Aggregatable.MinCount is more than MaxCount');
    }
    if (type.data.Count !== undefined) {
      throw new HubError('INVALID_REQUEST', 'Count is set by the hub on a sold vm, not published');
    }
  } else if (type.name === 'service') {
    try {
      templateValidator(type.data.Characteristics.ConfigurationTemplate);
    } catch (err) {
      throw new HubError(
        'INVALID_REQUEST',
        `ConfigurationTemplate is not a valid JSON Schema: ${(err as Error).message}`,
      );
    }
  }
}

/**
 * Compiles a service's ConfigurationTemplate, cached per template text. A string template
 * (REAR's type) holds the schema as JSON: it must parse to a schema object (or boolean).
 */
const compiled = new Map<string, ReturnType<Ajv['compile']>>();
export function templateValidator(template: object | string): ReturnType<Ajv['compile']> {
  const key = typeof template === 'string' ? template : JSON.stringify(template);
  let fn = compiled.get(key);
  if (!fn) {
    const schema: unknown = typeof template === 'string' ? parseTemplate(template) : template;
    fn = templateAjv.compile(schema as object);
    if (compiled.size > 1000) compiled.clear();
    compiled.set(key, fn);
  }
  return fn;
}

function parseTemplate(text: string): unknown {
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch {
    throw new Error('the string does not hold JSON');
  }
  if (
    typeof schema !== 'boolean' &&
    (typeof schema !== 'object' || schema === null || Array.isArray(schema))
  )
    throw new Error('the string does not hold a JSON Schema object');
  return schema;
}
