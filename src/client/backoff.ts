/**
 * Full-jitter exponential backoff (AWS architecture blog, "Exponential Backoff And Jitter"):
 * the n-th retry waits a uniformly random time in [0, min(cap, base · 2^n)], so that clients
 * cut off together do not come back together.
 */
export interface Backoff {
  /** First ceiling, ms. */
  baseMs: number;
  /** Largest ceiling, ms. */
  capMs: number;
}

export const REQUEST_BACKOFF: Backoff = { baseMs: 250, capMs: 8_000 };
export const RECONNECT_BACKOFF: Backoff = { baseMs: 500, capMs: 20_000 };

export function fullJitter(
  attempt: number,
  b: Backoff,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * Math.min(b.capMs, b.baseMs * 2 ** attempt));
}

/** Resolves after ms, or rejects with the signal's reason once it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
