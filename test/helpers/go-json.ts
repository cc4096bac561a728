/**
 * Go's encoding/json, as far as the FLUIDOS node's REAR client uses it, so tests shape requests
 * and read answers the way that client does — from its structs' json tags, not the hub's types.
 *
 * Marshal: fields in declaration order, `omitempty` drops zero values, nil slices are `null`,
 * no whitespace, and <, >, & escaped as \u003c, \u003e, \u0026 (Go's HTML-safe default).
 * Unmarshal: a key matches the field whose tag equals it, else the first whose tag equals it
 * ignoring case (Go's rule); unknown keys are skipped; a value of the wrong JSON type is an
 * error (Go's Decode returns an UnmarshalTypeError, and the node treats the call as failed).
 */
import { parseQuantity } from '../../src/domain/quantity.js';

export type GoType =
  | 'string'
  | 'bool'
  | 'int'
  | 'time'
  | 'quantity'
  | 'raw'
  | { struct: GoStruct }
  | { ptr: GoType }
  | { slice: GoType }
  | { map: GoType };

export interface GoField {
  /** The Go field name (what decoded values are keyed by). */
  name: string;
  /** Its json tag name. */
  tag: string;
  type: GoType;
  omitempty?: boolean;
}

export type GoStruct = readonly GoField[];

const esc = (s: string) =>
  JSON.stringify(s)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

function isZero(type: GoType, v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (type === 'string' || type === 'time' || type === 'quantity') return v === '';
  if (type === 'bool') return v === false;
  if (type === 'int') return v === 0;
  if (typeof type === 'object' && ('slice' in type || 'map' in type))
    return Array.isArray(v) ? v.length === 0 : Object.keys(v as object).length === 0;
  return false;
}

/** json.Marshal of `value` (keyed by Go field names) as `type`. */
export function goMarshal(type: GoType, value: unknown): string {
  if (type === 'raw') return value === undefined ? 'null' : JSON.stringify(value);
  if (type === 'string' || type === 'time') return esc((value as string | undefined) ?? '');
  if (type === 'quantity') return esc((value as string | undefined) ?? '0');
  if (type === 'bool') return value ? 'true' : 'false';
  if (type === 'int') return String((value as number | undefined) ?? 0);
  if ('ptr' in type)
    return value === undefined || value === null ? 'null' : goMarshal(type.ptr, value);
  if ('slice' in type) {
    if (value === undefined || value === null) return 'null';
    return `[${(value as unknown[]).map((v) => goMarshal(type.slice, v)).join(',')}]`;
  }
  if ('map' in type) {
    if (value === undefined || value === null) return 'null';
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : 1,
    );
    return `{${entries.map(([k, v]) => `${esc(k)}:${goMarshal(type.map, v)}`).join(',')}}`;
  }
  const obj = (value ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  for (const f of type.struct) {
    const v = obj[f.name];
    if (f.omitempty && isZero(f.type, v)) continue;
    parts.push(`${esc(f.tag)}:${goMarshal(f.type, v)}`);
  }
  return `{${parts.join(',')}}`;
}

export class GoDecodeError extends Error {}

function fieldFor(struct: GoStruct, key: string): GoField | undefined {
  return (
    struct.find((f) => f.tag === key) ??
    struct.find((f) => f.tag.toLowerCase() === key.toLowerCase())
  );
}

/** Decodes a parsed JSON value into `type` the way encoding/json does; zero values fill gaps. */
export function goDecode(type: GoType, v: unknown, path = '$'): unknown {
  const fail = (want: string) => {
    throw new GoDecodeError(`json: cannot unmarshal ${JSON.stringify(v)} into ${want} at ${path}`);
  };
  if (type === 'raw') return v;
  if (v === null) return zero(type);
  if (type === 'string') return typeof v === 'string' ? v : fail('string');
  if (type === 'bool') return typeof v === 'boolean' ? v : fail('bool');
  if (type === 'int') return Number.isInteger(v) ? v : fail('int');
  if (type === 'time') {
    // time.Time.UnmarshalJSON: an RFC 3339 string.
    if (
      typeof v !== 'string' ||
      !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v)
    )
      fail('time.Time (RFC 3339)');
    return v;
  }
  if (type === 'quantity') {
    if (typeof v !== 'string' || parseQuantity(v) === undefined) fail('resource.Quantity');
    return v;
  }
  if ('ptr' in type) return goDecode(type.ptr, v, path);
  if ('slice' in type) {
    if (!Array.isArray(v)) return fail('slice');
    return v.map((x, i) => goDecode(type.slice, x, `${path}[${i}]`));
  }
  if (typeof v !== 'object' || Array.isArray(v)) return fail('struct or map');
  if ('map' in type) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = goDecode(type.map, x, `${path}.${k}`);
    return out;
  }
  const out = zero(type) as Record<string, unknown>;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const f = fieldFor(type.struct, k);
    if (f) out[f.name] = goDecode(f.type, x, `${path}.${k}`);
  }
  return out;
}

/** Go's zero value: "" / false / 0 / nil (undefined) / a struct of zeros. */
export function zero(type: GoType): unknown {
  if (type === 'string' || type === 'time' || type === 'quantity') return '';
  if (type === 'bool') return false;
  if (type === 'int') return 0;
  if (type === 'raw' || 'ptr' in type || 'slice' in type || 'map' in type) return undefined;
  const out: Record<string, unknown> = {};
  for (const f of type.struct) out[f.name] = zero(f.type);
  return out;
}

/** json.Unmarshal of a JSON text. */
export function goUnmarshal(type: GoType, text: string): any {
  return goDecode(type, JSON.parse(text));
}
