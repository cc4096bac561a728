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
  /**
   * Necessary lower bounds on a numeric field's largest offered size (from `range.min` and
   * from `match`): a flavor whose top is below one cannot match. The catalog picks the most
   * selective to walk an index instead of the whole catalog.
   */
  readonly lowerBounds: ReadonlyArray<{
    readonly field: string;
    readonly lo: bigint;
    /** The field's whole test is "largest offered size ≥ lo" (a range with only a min). */
    readonly exact: boolean;
  }>;
  /** Exact string matches on a flavor's string fields (architecture, os, category, …). */
  readonly equalities: ReadonlyArray<{ readonly field: string; readonly value: string }>;
  test(facts: FlavorFacts): boolean;
  /** The field filters alone, for callers that already hold flavors of the selector's type. */
  testFields(facts: FlavorFacts): boolean;
  /**
   * The test left once an index has decided some fields (and, with `typeKnown`, the type):
   * undefined when nothing is left to test.
   */
  testRest(decided: ReadonlySet<string>, typeKnown: boolean): Predicate | undefined;
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

interface Compiled {
  predicate: Predicate;
  key: string;
  lowerBound?: bigint;
  /** The predicate is exactly "largest offered size ≥ lowerBound". */
  exactBound?: boolean;
  equals?: string;
}

function fieldPredicate(field: string, spec: FieldSpec, filter: FieldFilter): Compiled {
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
    return {
      predicate: matchPredicate(field, spec, v),
      key: `${field}=${String(v)}`,
      ...(typeof v === 'bigint' ? { lowerBound: v } : {}),
      ...(spec.kind === 'string' && field !== 'providerId' ? { equals: v as string } : {}),
    };
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
  return {
    predicate: rangePredicate(field, spec, lo, hi),
    key: `${field}:${lo ?? ''}..${hi ?? ''}`,
    ...(lo !== undefined ? { lowerBound: lo, exactBound: hi === undefined } : {}),
  };
}

function matchPredicate(field: string, spec: FieldSpec, v: bigint | string): Predicate {
  switch (spec.kind) {
    case 'string':
      if (field === 'providerId') return (f) => f.providerId === v;
      return (f) => f.strings[field] === v;
    case 'tags':
      return (f) => f.tags.includes(v as string);
    default: {
      const x = v as bigint;
      const xF = Number(x);
      return (f) => {
        const n = f.nums[field];
        if (n === undefined || xF < n.minF || xF > n.topF) return false;
        return gridHas(n.grid, x);
      };
    }
  }
}

// Float comparisons decide whenever they are strict (Number() is monotone); ties fall back to bigint.
function atLeast(xF: number, x: bigint, loF: number, lo: bigint): boolean {
  return xF > loF || (xF === loF && x >= lo);
}

function rangePredicate(field: string, spec: FieldSpec, lo?: bigint, hi?: bigint): Predicate {
  const loF = lo === undefined ? -Infinity : Number(lo);
  const hiF = hi === undefined ? Infinity : Number(hi);
  if (spec.kind === 'price') {
    return (f) =>
      (lo === undefined || atLeast(f.priceF, f.price, loF, lo)) &&
      (hi === undefined || atLeast(hiF, hi, f.priceF, f.price));
  }
  if (hi === undefined && lo !== undefined) {
    // Only a minimum: some offered size reaches it iff the largest one does.
    return (f) => {
      const n = f.nums[field];
      return n !== undefined && atLeast(n.topF, n.top, loF, lo);
    };
  }
  return (f) => {
    const n = f.nums[field];
    if (n === undefined || n.topF < loF || n.minF > hiF) return false;
    return gridHasIn(n.grid, lo, hi);
  };
}

/** Builds a Selector from the filter as JSON; throws INVALID_SELECTOR naming the bad key. */
export function compileSelector(
  type: FlavorTypeName | undefined,
  filter: Record<string, FieldFilter | undefined>,
): Selector {
  const predicates: Predicate[] = [];
  const fields: string[] = [];
  const keys: string[] = [];
  const lowerBounds: Array<{ field: string; lo: bigint; exact: boolean }> = [];
  const equalities: Array<{ field: string; value: string }> = [];
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
    const c = fieldPredicate(field, spec, ff);
    predicates.push(c.predicate);
    fields.push(field);
    keys.push(c.key);
    if (c.lowerBound !== undefined)
      lowerBounds.push({ field, lo: c.lowerBound, exact: c.exactBound === true });
    if (c.equals !== undefined) equalities.push({ field, value: c.equals });
  }
  keys.sort();
  const json: SubscriptionSelector = {
    ...(type ? { type } : {}),
    filter: filter as SubscriptionSelector['filter'],
  };
  const testFields = (f: FlavorFacts): boolean => {
    for (const p of predicates) if (!p(f)) return false;
    return true;
  };
  return {
    type,
    key: `${type ?? '*'}|${keys.join('&')}`,
    json,
    lowerBounds,
    equalities,
    test: type ? (f) => f.type === type && testFields(f) : testFields,
    testFields,
    testRest(decided, typeKnown) {
      const rest = predicates.filter((_, i) => !decided.has(fields[i] as string));
      const typed = type !== undefined && !typeKnown;
      if (rest.length === 0 && !typed) return undefined;
      return (f) => {
        if (typed && f.type !== type) return false;
        for (const p of rest) if (!p(f)) return false;
        return true;
      };
    },
  };
}

const QUERY_KEY = /^filter\[([^\][]+)\]\[([^\][]+)\](?:\[([^\][]+)\])?$/;

/**
 * Parses the query-string encoding: filter[<field>][match|exact]=v and
 * filter[<field>][range][min|max]=v. Any other key is an error naming it. `raw`, the query
 * string the object was parsed from, when the caller has it, keys the cache without walking
 * the object (the parsed object is a function of it).
 */
export function parseQuerySelector(
  type: FlavorTypeName | undefined,
  query: Record<string, string | string[] | undefined>,
  raw?: string,
): Selector {
  // Dashboards and agents repeat their selectors: compile each distinct one once.
  let cacheKey: string;
  if (raw !== undefined) {
    cacheKey = `${type ?? '*'}?${raw}`;
  } else {
    cacheKey = type ?? '*';
    for (const k in query) {
      const v = query[k];
      // A repeated key (an array) is keyed apart from any single value: it must fail again.
      cacheKey +=
        typeof v === 'string' ? `\u0000${k}\u0001${v}` : `\u0000${k}\u0002${JSON.stringify(v)}`;
    }
  }
  const hit = compiledQueries.get(cacheKey);
  if (hit) return hit;
  const selector = parseQuerySelectorUncached(type, query);
  if (compiledQueries.size >= QUERY_CACHE_SIZE)
    compiledQueries.delete(compiledQueries.keys().next().value as string);
  compiledQueries.set(cacheKey, selector);
  return selector;
}

const QUERY_CACHE_SIZE = 4096;
const compiledQueries = new Map<string, Selector>();

function parseQuerySelectorUncached(
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
