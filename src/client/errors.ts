/**
 * The SDK's errors: one base class, HubApiError, carrying the hub's stable `code`, the HTTP
 * status, `Retry-After` and the request's id, and one subclass per class of error in the hub's
 * table (src/errors.ts), exported as runtime classes so that `instanceof` works (the lesson of
 * Stripe's `src/Error.ts`). A code the table does not know yet falls back to its status.
 */
import type { ErrorBody } from '../types/wire.js';

export interface HubApiErrorInit {
  code: string;
  statusCode: number;
  message: string;
  retryAfter?: number | undefined;
  requestId?: string | undefined;
  body?: ErrorBody | undefined;
}

export class HubApiError extends Error {
  /** The hub's stable code (`FLAVOR_NOT_FOUND`, …); `CONNECTION_FAILED` when no answer came. */
  readonly code: string;
  /** The HTTP status; 0 when the hub could not be reached. */
  readonly statusCode: number;
  /** Seconds the hub asked the client to wait (`Retry-After`), when it said. */
  readonly retryAfter: number | undefined;
  /** The request's id, when the hub (or a proxy in front of it) named one. */
  readonly requestId: string | undefined;
  /** The error body as the hub sent it. */
  readonly body: ErrorBody | undefined;

  constructor(init: HubApiErrorInit) {
    super(init.message);
    this.name = new.target.name;
    this.code = init.code;
    this.statusCode = init.statusCode;
    this.retryAfter = init.retryAfter;
    this.requestId = init.requestId;
    this.body = init.body;
  }
}

/** 401 `UNAUTHORIZED`: no token, or one the hub does not know. */
export class AuthenticationError extends HubApiError {}
/** 403 `FORBIDDEN`: this identity may not do that. */
export class PermissionError extends HubApiError {}
/** 400 `INVALID_REQUEST`, `INVALID_SELECTOR`; 413 `PAYLOAD_TOO_LARGE`; 415 `UNSUPPORTED_MEDIA_TYPE`. */
export class InvalidRequestError extends HubApiError {}
/** 422 `INVALID_CONFIGURATION`: the Configuration does not fit the flavor's policy. */
export class InvalidConfigurationError extends HubApiError {}
/** 404 `FLAVOR_NOT_FOUND`, `TRANSACTION_NOT_FOUND`, `CONTRACT_NOT_FOUND`, `ROUTE_NOT_FOUND`. */
export class NotFoundError extends HubApiError {}
/** 409 `FLAVOR_RESERVED`: another buyer holds the flavor; `retryAfter` says when it may end. */
export class ConflictError extends HubApiError {}
/** 410 `TRANSACTION_EXPIRED`: the hold ran out or was cancelled. */
export class ExpiredError extends HubApiError {}
/** 429 `RATE_LIMITED` (after the SDK's own retries). */
export class RateLimitError extends HubApiError {}
/** 503 `UNAVAILABLE`: the hub is shutting down (after the SDK's own retries). */
export class UnavailableError extends HubApiError {}
/** 500 `INTERNAL`. */
export class InternalError extends HubApiError {}
/** No answer: the hub could not be reached, or the connection broke (`CONNECTION_FAILED`). */
export class ConnectionError extends HubApiError {}

type ErrorClass = new (init: HubApiErrorInit) => HubApiError;

/** The class of each code of the hub's error table (test/unit/client-errors.test.ts checks it is complete). */
export const ERROR_CLASSES: Readonly<Record<string, ErrorClass>> = {
  UNAUTHORIZED: AuthenticationError,
  FORBIDDEN: PermissionError,
  INVALID_REQUEST: InvalidRequestError,
  INVALID_SELECTOR: InvalidRequestError,
  PAYLOAD_TOO_LARGE: InvalidRequestError,
  UNSUPPORTED_MEDIA_TYPE: InvalidRequestError,
  INVALID_CONFIGURATION: InvalidConfigurationError,
  FLAVOR_NOT_FOUND: NotFoundError,
  TRANSACTION_NOT_FOUND: NotFoundError,
  CONTRACT_NOT_FOUND: NotFoundError,
  ROUTE_NOT_FOUND: NotFoundError,
  FLAVOR_RESERVED: ConflictError,
  TRANSACTION_EXPIRED: ExpiredError,
  RATE_LIMITED: RateLimitError,
  UNAVAILABLE: UnavailableError,
  INTERNAL: InternalError,
};

const BY_STATUS: Readonly<Record<number, ErrorClass>> = {
  400: InvalidRequestError,
  401: AuthenticationError,
  403: PermissionError,
  404: NotFoundError,
  409: ConflictError,
  410: ExpiredError,
  413: InvalidRequestError,
  415: InvalidRequestError,
  422: InvalidConfigurationError,
  429: RateLimitError,
  503: UnavailableError,
};

/** The typed error for a code and status (the code wins; an unknown code goes by status). */
export function hubError(init: HubApiErrorInit): HubApiError {
  const Class =
    ERROR_CLASSES[init.code] ??
    BY_STATUS[init.statusCode] ??
    (init.statusCode === 0
      ? ConnectionError
      : init.statusCode >= 500
        ? InternalError
        : HubApiError);
  return new Class(init);
}
