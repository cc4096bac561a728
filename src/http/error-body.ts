/** The REST error body, {statusCode, code, error, message}, for a row of the error table. */
import { STATUS_CODES } from 'node:http';
import { ERRORS, type ErrorCode } from '../errors.js';
import type { ErrorBody } from '../types/wire.js';

/** HTTP reason phrases (the body's `error` field): Node's own table. */
export const REASON_PHRASES: Readonly<Record<number, string | undefined>> = STATUS_CODES;

export function errorBody(code: ErrorCode, message?: string): ErrorBody {
  const statusCode = ERRORS[code].status;
  return {
    statusCode,
    code,
    error: REASON_PHRASES[statusCode] ?? 'Error',
    message: message ?? ERRORS[code].message,
  };
}
