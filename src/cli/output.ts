/**
 * How every client command writes: human tables by default, the hub's JSON with `--json`,
 * and an exit code per class of error (README, "Client tools"; docs/decisions.md).
 */
import {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  ExpiredError,
  HubApiError,
  InvalidConfigurationError,
  InvalidRequestError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  UnavailableError,
} from '../client/index.js';

/** Exit codes, by class of error. */
export const EXIT = {
  OK: 0,
  /** A fault: the hub's 500, or anything unexpected. */
  ERROR: 1,
  /** The command line or an input file is wrong (no hub call was made). */
  USAGE: 2,
  /** 401, 403: the token is unknown or may not do that. */
  AUTH: 3,
  /** 404: no such flavor, transaction or contract. */
  NOT_FOUND: 4,
  /** 409, 410: held by another buyer, or the hold ended. */
  CONFLICT: 5,
  /** 400, 413, 415, 422: the hub refused the request as invalid. */
  INVALID: 6,
  /** 429, 503 after the client's retries: try again later. */
  UNAVAILABLE: 7,
  /** The hub could not be reached. */
  CONNECTION: 8,
  /** Interrupted (Ctrl-C) while waiting. */
  INTERRUPTED: 130,
} as const;

export function exitCodeOf(err: unknown): number {
  if (err instanceof AuthenticationError || err instanceof PermissionError) return EXIT.AUTH;
  if (err instanceof NotFoundError) return EXIT.NOT_FOUND;
  if (err instanceof ConflictError || err instanceof ExpiredError) return EXIT.CONFLICT;
  if (err instanceof InvalidRequestError || err instanceof InvalidConfigurationError)
    return EXIT.INVALID;
  if (err instanceof RateLimitError || err instanceof UnavailableError) return EXIT.UNAVAILABLE;
  if (err instanceof ConnectionError) return EXIT.CONNECTION;
  if (err instanceof UsageError) return EXIT.USAGE;
  return EXIT.ERROR;
}

/** A mistake on the command line or in an input file. */
export class UsageError extends Error {}

/** Writes an error (its code first) and returns the exit code for it. */
export function report(err: unknown, json: boolean): number {
  if (err instanceof HubApiError) {
    if (json && err.body) console.log(JSON.stringify(err.body));
    else if (json) console.log(JSON.stringify({ code: err.code, message: err.message }));
    console.error(`rear-hub: ${err.code}: ${err.message}`);
  } else if (err instanceof UsageError) {
    console.error(`rear-hub: ${err.message}`);
  } else {
    console.error(`rear-hub: ${err instanceof Error ? err.message : String(err)}`);
  }
  return exitCodeOf(err);
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** A plain table: a header row, then one row per item, columns padded to their widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Key: value lines, for one object. */
export function fields(pairs: Array<[string, string | undefined]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v}`)
    .join('\n');
}

/** Seconds or minutes left until an RFC 3339 time. */
export function until(iso: string, now: number): string {
  const s = Math.round((Date.parse(iso) - now) / 1000);
  if (s <= 0) return 'now';
  return s < 120 ? `${s}s` : `${Math.round(s / 60)}m`;
}

/** A spinner with the elapsed time on stderr, only on a terminal. Returns its stop function. */
export function spinner(text: string, stream: NodeJS.WriteStream = process.stderr): () => void {
  if (!stream.isTTY) return () => {};
  const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
  const start = performance.now();
  let i = 0;
  const draw = () => {
    const secs = ((performance.now() - start) / 1000).toFixed(1);
    stream.write(`\r${frames[i++ % frames.length]} ${text} ${secs}s\x1b[K`);
  };
  draw();
  const timer = setInterval(draw, 100);
  return () => {
    clearInterval(timer);
    stream.write('\r\x1b[K');
  };
}

/** A progress bar on stderr, only on a terminal. */
export function progressBar(total: number, stream: NodeJS.WriteStream = process.stderr) {
  const tty = stream.isTTY === true;
  return {
    update(done: number, note = ''): void {
      if (!tty) return;
      const width = 30;
      const filled = total ? Math.round((done / total) * width) : width;
      stream.write(
        `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}${note ? `  ${note}` : ''}\x1b[K`,
      );
    },
    end(): void {
      if (tty) stream.write('\n');
    },
  };
}
