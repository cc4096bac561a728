/**
 * Selectors (§4): the FLUIDOS node's query-string filter grammar and the same filter as JSON
 * for WebSocket subscriptions, parsed once into a predicate over FlavorFacts and a canonical
 * key (equal selectors share one key, so the hub evaluates each distinct selector once).
 */
import { HubError } from '../errors.js';
import type { FieldFilter, SubscriptionSelector } from '../types/wire.js';
import type { FlavorFacts } from './flavor-facts.js';
import { typeFromSpelling, type FlavorTypeName } from './flavor-types.js';
import { gridHas, gridHasIn } from './grid.js';
import { parseDecimal, parseQuantity } from './quantity.js';

type ValueKind = 'quantity' | 'decimal' | 'string' | 'tags' | 'price';

interface FieldSpec {
  readonly kind: ValueKind;
  readonly match: boolean;
  readonly range: boolean;
}

const QTY: FieldSpec = { kind: 'quantity', match: true, range: true };
const NUM: FieldSpec = { kind: 'decimal', match: true, range: true };
const STR: FieldSpec = { kind: 'string', match: true, range: false };

/** The selector fields of §4, by type; COMMON_FIELDS apply to every type. */
export const TYPE_FIELDS: Readonly<Record<FlavorTypeName, Readonly<Record<string, FieldSpec>>>> = {
  k8slice: { architecture: STR, cpu: QTY, memory: QTY, pods: QTY, storage: QTY, gpu: QTY },
  vm: { architecture: STR, os: STR, cpu: NUM, memory: NUM, storage: NUM, gpu: NUM },
  service: { category: STR, tags: { kind: 'tags', match: true, range: false } },
  sensor: { sensor_type: STR, sensor_model: STR, sensor_manufacturer: STR, sampling_rate: NUM },
};

export const COMMON_FIELDS: Readonly<Record<string, FieldSpec>> = {
  price: { kind: 'price', match: false, range: true },
  providerId: STR,
};

export interface Selector {
  /** Only flavors of this type, when set. */
  readonly type: FlavorTypeName | undefined;
  /** Equal for selectors that select the same flavors the same way. */
  readonly key: string;
  /** The selector as JSON (the form WebSocket clients send), for echoing back. */
  readonly json: SubscriptionSelector;
  test(facts: FlavorFacts): boolean;
}

type Raw = string | number;
type Predicate = (f: FlavorFacts) => boolean;

function keyName(field: string, op: string, bound?: string): string {
  return `filter[${field}][${op}]${bound ? `[${bound}]` : ''}`;
}

function bad(key: string, why: string): HubError {
  return new HubError('INVALID_SELECTOR', `${key}: ${why}`);
}

function parseValue(spec: FieldSpec, raw: Raw, key: string): bigint | string {
  const text = String(raw);
  switch (spec.kind) {
    case 'string':
    case 'tags':
      if (text.length === 0 || text.length > 256) throw bad(key, 'must be a non-empty string');
      return text;
    case 'quantity': {
      const v = parseQuantity(text);
      if (v === undefined) throw bad(key, `"${text}" is not a Kubernetes quantity`);
      return v;
    }
    case 'decimal':
    case 'price': {
      const v = parseDecimal(text);
      if (v === undefined) throw bad(key, `"${text}" is not a non-negative decimal`);
      return v;
    }
  }
}

function fieldPredicate(field: string, spec: FieldSpec, filter: FieldFilter): [Predicate, string] {
  const ops = Object.keys(filter);
  const matchOp =
    filter.match !== undefined ? 'match' : filter.exact !== undefined ? 'exact' : undefined;
  if (filter.match !== undefined && filter.exact !== undefined) {
    throw bad(keyName(field, 'exact'), 'match and exact on one field');
  }
  if (matchOp && filter.range !== undefined) {
    throw bad(keyName(field, 'range'), `${matchOp} together with range on one field`);
  }
  if (ops.length === 0) throw bad(`filter[${field}]`, 'needs match, exact or range');

  if (matchOp) {
    const key = keyName(field, matchOp);
    if (!spec.match) throw bad(key, `${field} takes range only`);
    const v = parseValue(spec, (filter.match ?? filter.exact) as Raw, key);
    return [matchPredicate(field, spec, v), `${field}=${String(v)}`];
  }

  const range = filter.range ?? {};
  if (!spec.range) throw bad(keyName(field, 'range'), `${field} takes match only`);
  if (range.min === undefined && range.max === undefined) {
    throw bad(keyName(field, 'range'), 'needs min or max');
  }
  const lo =
    range.min === undefined
      ? undefined
      : (parseValue(spec, range.min, keyName(field, 'range', 'min')) as bigint);
  const hi =
    range.max === undefined
      ? undefined
      : (parseValue(spec, range.max, keyName(field, 'range', 'max')) as bigint);
  if (lo !== undefined && hi !== undefined && lo > hi) {
    throw bad(keyName(field, 'range', 'min'), 'min is greater than max');
  }
  return [rangePredicate(field, spec, lo, hi), `${field}:${lo ?? ''}..${hi ?? ''}`];
}

function matchPredicate(field: string, spec: FieldSpec, v: bigint | string): Predicate {
  switch (spec.kind) {
    case 'string':
      if (field === 'providerId') return (f) => f.providerId === v;
      return (f) => f.strings[field] === v;
    case 'tags':
      return (f) => f.tags.includes(v as string);
    default:
      return (f) => {
        const g = f.grids[field];
        return g !== undefined && gridHas(g, v as bigint);
      };
  }
}

function rangePredicate(field: string, spec: FieldSpec, lo?: bigint, hi?: bigint): Predicate {
  if (spec.kind === 'price') {
    return (f) => (lo === undefined || f.price >= lo) && (hi === undefined || f.price <= hi);
  }
  return (f) => {
    const g = f.grids[field];
    return g !== undefined && gridHasIn(g, lo, hi);
  };
}

/** Builds a Selector from the filter as JSON; throws INVALID_SELECTOR naming the bad key. */
export function compileSelector(
  type: FlavorTypeName | undefined,
  filter: Record<string, FieldFilter | undefined>,
): Selector {
  const predicates: Predicate[] = [];
  const keys: string[] = [];
  for (const [field, ff] of Object.entries(filter)) {
    if (ff === undefined) continue;
    const spec =
      (type && Object.hasOwn(TYPE_FIELDS[type], field) ? TYPE_FIELDS[type][field] : undefined) ??
      (Object.hasOwn(COMMON_FIELDS, field) ? COMMON_FIELDS[field] : undefined);
    if (!spec) {
      throw bad(
        `filter[${field}]`,
        type
          ? `unknown field for ${type}`
          : 'unknown field (without a type only price and providerId apply)',
      );
    }
    if (typeof ff !== 'object' || ff === null) throw bad(`filter[${field}]`, 'must be an object');
    for (const op of Object.keys(ff)) {
      if (op !== 'match' && op !== 'exact' && op !== 'range')
        throw bad(keyName(field, op), 'unknown operator');
    }
    const [p, k] = fieldPredicate(field, spec, ff);
    predicates.push(p);
    keys.push(k);
  }
  keys.sort();
  const json: SubscriptionSelector = {
    ...(type ? { type } : {}),
    filter: filter as SubscriptionSelector['filter'],
  };
  const typeTest: Predicate | undefined = type ? (f) => f.type === type : undefined;
  const all = typeTest ? [typeTest, ...predicates] : predicates;
  return {
    type,
    key: `${type ?? '*'}|${keys.join('&')}`,
    json,
    test: (f) => {
      for (const p of all) if (!p(f)) return false;
      return true;
    },
  };
}

const QUERY_KEY = /^filter\[([^\][]+)\]\[([^\][]+)\](?:\[([^\][]+)\])?$/;

/**
 * Parses the query-string encoding: filter[<field>][match|exact]=v and
 * filter[<field>][range][min|max]=v. Any other key is an error naming it.
 */
export function parseQuerySelector(
  type: FlavorTypeName | undefined,
  query: Record<string, string | string[] | undefined>,
): Selector {
  const filter: Record<string, FieldFilter> = {};
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) throw bad(key, 'given more than once');
    const m = QUERY_KEY.exec(key);
    if (!m) throw bad(key, 'not a filter[<field>][<operator>] key');
    const [, field, op, bound] = m as unknown as [string, string, string, string | undefined];
    const ff = (filter[field] ??= {});
    if (op === 'match' || op === 'exact') {
      if (bound !== undefined) throw bad(key, `${op} takes no [${bound}]`);
      ff[op] = value;
    } else if (op === 'range') {
      if (bound !== 'min' && bound !== 'max') throw bad(key, 'range takes [min] or [max]');
      (ff.range ??= {})[bound] = value;
    } else {
      throw bad(key, 'unknown operator');
    }
  }
  return compileSelector(type, filter);
}

/** Parses a WebSocket subscription selector ({type?, filter?}). */
export function parseJsonSelector(sel: SubscriptionSelector): Selector {
  let type: FlavorTypeName | undefined;
  if (sel.type !== undefined) {
    type = typeFromSpelling(sel.type);
    if (!type) throw new HubError('INVALID_SELECTOR', `type: unknown flavor type "${sel.type}"`);
  }
  return compileSelector(type, sel.filter ?? {});
}
