/**
 * The REST half of the client: one `request` that every call goes through — bearer token,
 * JSON in and out, typed errors, and retries of 429 and 503 with full-jitter backoff that
 * never waits less than the hub's `Retry-After`.
 */
import type { ErrorBody } from '../types/wire.js';
import { fullJitter, REQUEST_BACKOFF, sleep, type Backoff } from './backoff.js';
import { hubError, type HubApiError } from './errors.js';

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
  /**
   * Retry when no answer came (the connection failed). Only for calls that are safe to repeat:
   * reads, cancels, reserves (same buyer, flavor and Configuration → same Transaction) and
   * purchases (a second purchase replays the Contract).
   */
  idempotent?: boolean;
  /** Overrides the client's maxRetries for this call. */
  maxRetries?: number | undefined;
}

export interface RestOptions {
  /** The hub's base URL, e.g. http://127.0.0.1:5000 (no /api/v2). */
  url: string;
  token?: string | undefined;
  /** How many times a 429, a 503 or (for idempotent calls) a failed connection is retried. Default 3. */
  maxRetries?: number;
  backoff?: Backoff;
  fetch?: typeof fetch;
  /** Told of each retry (the CLI shows them). */
  onRetry?: (info: { attempt: number; delayMs: number; error: HubApiError }) => void;
}

/** Statuses that mean "not done, try again later": the hub did nothing with the request. */
const RETRYABLE = new Set([429, 503]);

export class RestClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly maxRetries: number;
  private readonly backoff: Backoff;
  private readonly fetchImpl: typeof fetch;
  private readonly onRetry: RestOptions['onRetry'];

  constructor(options: RestOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
    this.token = options.token;
    this.maxRetries = options.maxRetries ?? 3;
    this.backoff = options.backoff ?? REQUEST_BACKOFF;
    this.fetchImpl = options.fetch ?? ((...args) => globalThis.fetch(...args));
    this.onRetry = options.onRetry;
  }

  /** `path` is under /api/v2 unless it starts with `//` (then it is under the base URL). */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = path.startsWith('//')
      ? this.baseUrl + path.slice(1)
      : `${this.baseUrl}/api/v2${path}`;
    const max = options.maxRetries ?? this.maxRetries;
    for (let attempt = 0; ; attempt++) {
      let error: HubApiError;
      try {
        return await this.once<T>(method, url, options);
      } catch (err) {
        if (!isHubApiError(err)) throw err;
        error = err;
      }
      const retryable =
        RETRYABLE.has(error.statusCode) || (error.statusCode === 0 && options.idempotent === true);
      if (!retryable || attempt >= max) throw error;
      const floor = (error.retryAfter ?? 0) * 1000;
      const delayMs = floor + fullJitter(attempt, this.backoff);
      this.onRetry?.({ attempt: attempt + 1, delayMs, error });
      await sleep(delayMs, options.signal);
    }
  }

  private async once<T>(method: string, url: string, options: RequestOptions): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw hubError({
        code: 'CONNECTION_FAILED',
        statusCode: 0,
        message: `Could not reach the hub at ${this.baseUrl}: ${causeOf(err)}`,
      });
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.ok) return parsed as T;
    const body = isErrorBody(parsed) ? parsed : undefined;
    const retryAfter = res.headers.get('retry-after');
    throw hubError({
      code: body?.code ?? `HTTP_${res.status}`,
      statusCode: res.status,
      message: body?.message ?? (text.slice(0, 200) || `HTTP ${res.status}`),
      retryAfter: retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined,
      requestId: res.headers.get('request-id') ?? res.headers.get('x-request-id') ?? undefined,
      body,
    });
  }
}

function isHubApiError(err: unknown): err is HubApiError {
  return typeof err === 'object' && err !== null && 'statusCode' in err && 'code' in err;
}

function isErrorBody(v: unknown): v is ErrorBody {
  return typeof v === 'object' && v !== null && typeof (v as ErrorBody).code === 'string';
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
