import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderErrorDocs } from '../../scripts/gen-error-docs.js';
import { CLOSE_CODES, ERRORS, HubError, type ErrorCode } from '../../src/errors.js';
import { errorBody, REASON_PHRASES } from '../../src/http/error-body.js';
import { createAjv, validatorFor } from '../../src/schemas.js';

const docs = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

describe('the error table', () => {
  it('includes every code the contract names, with its status', () => {
    const spec: Record<string, number> = {
      UNAUTHORIZED: 401,
      FORBIDDEN: 403,
      INVALID_REQUEST: 400,
      INVALID_SELECTOR: 400,
      INVALID_CONFIGURATION: 422,
      FLAVOR_NOT_FOUND: 404,
      FLAVOR_RESERVED: 409,
      TRANSACTION_NOT_FOUND: 404,
      TRANSACTION_EXPIRED: 410,
      PAYLOAD_TOO_LARGE: 413,
      RATE_LIMITED: 429,
      INTERNAL: 500,
    };
    for (const [code, status] of Object.entries(spec))
      expect(ERRORS[code as ErrorCode].status).toBe(status);
  });

  it('gives every status a reason phrase', () => {
    for (const e of Object.values(ERRORS)) expect(REASON_PHRASES[e.status]).toBeTruthy();
  });

  it('builds bodies that satisfy the ErrorBody schema', () => {
    const valid = validatorFor(createAjv(), 'ErrorBody');
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      const body = errorBody(code);
      expect(valid(body)).toBe(true);
      expect(body.code).toBe(code);
      const err = new HubError(code, 'why');
      expect(err.statusCode).toBe(ERRORS[code].status);
      expect(err.message).toBe('why');
    }
  });

  it('is documented: docs/errors.md lists every code and close code and matches the table', () => {
    for (const code of Object.keys(ERRORS)) expect(docs).toContain(`\`${code}\``);
    for (const c of Object.values(CLOSE_CODES)) expect(docs).toContain(`| ${c.code} |`);
    expect(docs).toBe(renderErrorDocs());
  });
});
