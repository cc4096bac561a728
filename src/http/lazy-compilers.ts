/**
 * Route schemas compiled on first use instead of at start. At `ready` fastify compiles a
 * validator (Ajv) for every route's input and a serializer (fast-json-stringify, which
 * builds an Ajv of its own for each) for every response status of every route: about half
 * of an empty hub's start, for code most processes run only much later, if ever.
 *
 * Each compiler here hands fastify a function that compiles on its first call and keeps
 * the result, so answers are the same bytes as with eager compiling. A schema that does not
 * compile would fail on its route's first request rather than at start: `compileAll()`
 * compiles what is still pending (serve.ts runs it a little after listening, one schema per
 * turn of the event loop; test/integration/route-schemas.test.ts runs it on a built app).
 */
import { createRequire } from 'node:module';
import type { FastifySchema, FastifySchemaCompiler, FastifyServerOptions } from 'fastify';

type Compile<T> = () => T;

/** What fastify hands a serializer compiler (fastify's FastifySerializerCompiler input). */
interface SerializerRoute {
  schema: unknown;
  method: string;
  url: string;
  httpStatus: string;
  contentType?: string;
}
type Serializer = (data: unknown) => string;
type SerializerCompiler = (route: SerializerRoute) => Serializer;
type BuildSerializer = (externalSchemas: unknown, options: unknown) => SerializerCompiler;

/** A validator as fastify calls it: with the parent when Ajv may set defaults on the root. */
type ValidatorCompiler = FastifySchemaCompiler<FastifySchema>;
type Validator = ReturnType<ValidatorCompiler> & { schemaEnv?: unknown };

// fastify's own default serializer builder, taken from fastify's dependencies (the same
// module fastify would load itself), so the lazy one compiles exactly what it would.
const { SerializerSelector } = createRequire(createRequire(import.meta.url).resolve('fastify'))(
  '@fastify/fast-json-stringify-compiler',
) as { SerializerSelector: () => BuildSerializer };

export class LazyCompilers {
  private pending: Array<Compile<unknown>> = [];

  /** The schemaController option: fastify's serializers, each built on first use. */
  schemaController(): NonNullable<FastifyServerOptions['schemaController']> {
    const buildDefault = SerializerSelector();
    const build: BuildSerializer = (externalSchemas, options) => {
      const compile = buildDefault(externalSchemas, options);
      return (route) => {
        const get = this.once(() => compile(route));
        return (data) => get()(data);
      };
    };
    return { compilersFactory: { buildSerializer: build as never } };
  }

  /** Wraps a validator compiler so that each route's validator is built on first use. */
  validatorCompiler(compile: ValidatorCompiler): ValidatorCompiler {
    return (route) => {
      const get = this.once(() => compile(route) as Validator);
      const lazy = ((data: unknown, ctx?: unknown) =>
        (get() as (d: unknown, c?: unknown) => ReturnType<Validator>)(data, ctx)) as Validator;
      // fastify reads both after (schemaEnv: before) a call: the compiled function's own.
      Object.defineProperty(lazy, 'errors', { get: () => get().errors });
      Object.defineProperty(lazy, 'schemaEnv', { get: () => get().schemaEnv });
      return lazy;
    };
  }

  /** How many schemas are still to compile. */
  get size(): number {
    return this.pending.length;
  }

  /**
   * Compiles what is still pending: everything now, or one schema per event-loop turn with
   * `spread` (so requests arriving meanwhile wait for one schema at most). Rejects with the
   * first schema that does not compile.
   */
  async compileAll(spread = false): Promise<void> {
    while (this.pending.length > 0) {
      const next = this.pending.shift() as Compile<unknown>;
      next();
      if (spread) await new Promise((r) => setImmediate(r));
    }
  }

  private once<T>(compile: Compile<T>): Compile<T> {
    let done = false;
    let value: T;
    const get = (): T => {
      if (!done) {
        value = compile();
        done = true;
      }
      return value;
    };
    this.pending.push(get);
    return get;
  }
}
