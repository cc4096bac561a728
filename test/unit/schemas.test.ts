import { describe, expect, it } from 'vitest';
import {
  createAjv,
  lazyValidator,
  loadSchemas,
  sharedAjv,
  validatorFor,
} from '../../src/schemas.js';

describe('wire schemas', () => {
  // The hub's Ajv skips the meta-schema check at start (src/schemas.ts): this is where it runs.
  it('are each valid JSON Schemas', () => {
    const ajv = createAjv({ checked: true });
    for (const schema of loadSchemas()) {
      expect(ajv.validateSchema(schema), `${schema.$id}: ${ajv.errorsText()}`).toBe(true);
    }
  });

  it('compile, every one of them', () => {
    for (const schema of loadSchemas())
      expect(validatorFor(sharedAjv(), schema.$id)).toBeTypeOf('function');
  });

  it('validate lazily as they would eagerly, errors included', () => {
    const lazy = lazyValidator<unknown>('NodeIdentity');
    const eager = validatorFor<unknown>(createAjv(), 'NodeIdentity');
    const good = { Domain: 'd.test', NodeID: 'n', IP: '10.0.0.1' };
    expect(lazy(good)).toBe(eager(good));
    expect(lazy({})).toBe(false);
    expect(eager({})).toBe(false);
    expect(lazy.errors).toEqual(eager.errors);
  });
});
