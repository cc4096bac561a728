/**
 * The one error table. Every error the hub sends — REST body, WebSocket ERROR frame or
 * close code — comes from here; docs/errors.md is checked against it by a test. It imports
 * nothing platform-bound, so the dashboard's bundle can use the domain code that throws these
 * (the REST body, with its HTTP reason phrase, is built in http/error-body.ts).
 */

/** `extension`: not in the contract; the hub adds it where the contract is silent. */
export const ERRORS = {
  UNAUTHORIZED: { status: 401, message: 'A valid bearer token is required' },
  FORBIDDEN: { status: 403, message: 'This identity may not do that' },
  INVALID_REQUEST: { status: 400, message: 'The request is malformed' },
  INVALID_SELECTOR: { status: 400, message: 'The selector is not valid' },
  INVALID_CONFIGURATION: {
    status: 422,
    message: "The configuration does not fit the flavor's policy",
  },
  FLAVOR_NOT_FOUND: { status: 404, message: 'No such flavor on offer' },
  FLAVOR_RESERVED: { status: 409, message: 'The flavor is held by another buyer' },
  TRANSACTION_NOT_FOUND: { status: 404, message: 'No such transaction' },
  TRANSACTION_EXPIRED: { status: 410, message: 'The transaction has expired or was cancelled' },
  CONTRACT_NOT_FOUND: { status: 404, message: 'No such contract', extension: true },
  ROUTE_NOT_FOUND: { status: 404, message: 'No such route', extension: true },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'The body must be application/json',
    extension: true,
  },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The body is larger than 1 MiB' },
  RATE_LIMITED: { status: 429, message: 'Too many requests' },
  UNAVAILABLE: { status: 503, message: 'The hub is shutting down', extension: true },
  INTERNAL: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string; extension?: boolean }>;

export type ErrorCode = keyof typeof ERRORS;

/** WebSocket close codes the hub uses, and what a client should do about each. */
export const CLOSE_CODES = {
  GOING_AWAY: {
    code: 1001,
    meaning: 'The hub is shutting down: reconnect with backoff and resume with since.',
  },
  MESSAGE_TOO_BIG: { code: 1009, meaning: 'A frame was over 64 KiB: do not resend it.' },
  INTERNAL: {
    code: 1011,
    meaning: 'The hub hit a fault: reconnect with backoff and resume with since.',
  },
  TRY_AGAIN_LATER: {
    code: 1013,
    meaning:
      'The client read too slowly and its backlog passed the bound: read faster, reconnect and resume with since.',
  },
  TOKEN_EXPIRED: {
    code: 4401,
    meaning:
      'The JWT the connection was opened with has expired: get a fresh token, reconnect and resume with since.',
  },
} as const;

/** An error the hub answers with; `code` picks the row of the table. */
export class HubError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** Extra response headers (e.g. Retry-After). */
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message?: string, headers: Record<string, string> = {}) {
    super(message ?? ERRORS[code].message);
    this.name = 'HubError';
    this.code = code;
    this.statusCode = ERRORS[code].status;
    this.headers = headers;
  }
}
