/**
 * Loads the JSON Schemas under schemas/ (the one source of wire types) and builds the one
 * Ajv instance that validates every HTTP body and WebSocket frame.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

export interface NamedSchema {
  $id: string;
  [key: string]: unknown;
}

const SCHEMA_DIR = new URL('../schemas/', import.meta.url);
// Built output lives one level deeper (dist/src), so look beside the package root too.
const FALLBACK_DIR = new URL('../../schemas/', import.meta.url);

function schemaDir(): URL {
  try {
    readdirSync(SCHEMA_DIR);
    return SCHEMA_DIR;
  } catch {
    return FALLBACK_DIR;
  }
}

let cached: NamedSchema[] | undefined;

/** Every schema under schemas/, sorted by file name. */
export function loadSchemas(): NamedSchema[] {
  if (cached) return cached;
  const dir = schemaDir();
  cached = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as NamedSchema);
  return cached;
}

// ajv-formats ships CommonJS with a default export that TypeScript sees as the module.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * A fresh Ajv with every wire schema registered by its $id. The schemas are not checked
 * against the JSON Schema meta-schema here: compiling the meta-schema and checking the
 * schemas took about a fifth of a start, they are our own files that do not change at run
 * time, and test/unit/schemas.test.ts checks each of them (`checked: true` does it here).
 */
export function createAjv(options: { checked?: boolean } = {}): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: true,
    discriminator: true,
    strict: false,
    validateSchema: options.checked ?? false,
  });
  addFormats(ajv);
  for (const schema of loadSchemas()) ajv.addSchema(schema);
  return ajv;
}

let shared: Ajv | undefined;

/**
 * The one Ajv the modules that validate a wire type by its $id share (tokens, JWT claims,
 * WebSocket frames, configurations), made on first use: each of them making its own cost
 * a start one set of schemas each. Only registered schemas are compiled in it (never a
 * route's), so what it holds stays bounded however many apps a process builds.
 */
export function sharedAjv(): Ajv {
  return (shared ??= createAjv());
}

/**
 * The validator of a registered schema of the shared Ajv, compiled on its first call: a
 * module can name its validators at load without making every process that imports it
 * compile them (the CLI's client commands never validate a frame).
 */
export function lazyValidator<T>(id: string): ValidateFunction<T> {
  let fn: ValidateFunction<T> | undefined;
  const compiled = (): ValidateFunction<T> => (fn ??= validatorFor<T>(sharedAjv(), id));
  const lazy = ((data: unknown, ctx?: unknown) =>
    (compiled() as (d: unknown, c?: unknown) => boolean)(data, ctx)) as ValidateFunction<T>;
  Object.defineProperty(lazy, 'errors', { get: () => compiled().errors });
  return lazy;
}

/** The validator of a registered schema, by $id. */
export function validatorFor<T>(ajv: Ajv, id: string): ValidateFunction<T> {
  const fn = ajv.getSchema<T>(id);
  if (!fn) throw new Error(`unknown schema ${id}`);
  return fn;
}
