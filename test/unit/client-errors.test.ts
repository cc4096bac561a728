/** The SDK's error classes cover the hub's whole error table, and its backoff stays in bounds. */
import { describe, expect, it } from 'vitest';
import {
  ConnectionError,
  ERROR_CLASSES,
  fullJitter,
  hubError,
  HubApiError,
  NotFoundError,
  RateLimitError,
  REQUEST_BACKOFF,
} from '../../src/client/index.js';
import { ERRORS, type ErrorCode } from '../../src/errors.js';

describe('client errors', () => {
  it('every code of the error table has its class, and the class is a HubApiError', () => {
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      const Class = ERROR_CLASSES[code];
      expect(Class, code).toBeDefined();
      const err = hubError({ code, statusCode: ERRORS[code].status, message: 'm' });
      expect(err).toBeInstanceOf(Class as never);
      expect(err).toBeInstanceOf(HubApiError);
      expect(err.name).toBe((Class as { name: string }).name);
    }
  });

  it('an unknown code goes by its status; no answer is a ConnectionError', () => {
    expect(hubError({ code: 'NEW_THING', statusCode: 404, message: 'm' })).toBeInstanceOf(
      NotFoundError,
    );
    expect(hubError({ code: 'SLOW_DOWN', statusCode: 429, message: 'm' })).toBeInstanceOf(
      RateLimitError,
    );
    expect(hubError({ code: 'CONNECTION_FAILED', statusCode: 0, message: 'm' })).toBeInstanceOf(
      ConnectionError,
    );
  });

  it('full jitter: a delay in [0, min(cap, base·2^n)]', () => {
    expect(fullJitter(0, REQUEST_BACKOFF, () => 0.999)).toBeLessThan(REQUEST_BACKOFF.baseMs);
    expect(fullJitter(3, REQUEST_BACKOFF, () => 0.5)).toBe(REQUEST_BACKOFF.baseMs * 4);
    expect(fullJitter(30, REQUEST_BACKOFF, () => 0.999)).toBeLessThan(REQUEST_BACKOFF.capMs);
    expect(fullJitter(5, REQUEST_BACKOFF, () => 0)).toBe(0);
  });
});
