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

/** A fresh Ajv with every wire schema registered by its $id. */
export function createAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: true,
    discriminator: true,
    strict: false,
  });
  addFormats(ajv);
  for (const schema of loadSchemas()) ajv.addSchema(schema);
  return ajv;
}

/** The validator of a registered schema, by $id. */
export function validatorFor<T>(ajv: Ajv, id: string): ValidateFunction<T> {
  const fn = ajv.getSchema<T>(id);
  if (!fn) throw new Error(`unknown schema ${id}`);
  return fn;
}
