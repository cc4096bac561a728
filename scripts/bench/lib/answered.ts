/**
 * Every load's result passes through here before its figures are used. A server that fails
 * answers fast, so a rate or a CPU per request that counted failures would measure them: P9's
 * floor did, until it was given ids its database did not hold (fixed in cb5e610). A failed
 * request — a non-2xx answer, a socket error, a timeout — fails the bench, hub or baseline.
 */
import type autocannon from 'autocannon';

export function answered<R extends autocannon.Result>(r: R, who: string): R {
  const failed = r.non2xx + r.errors + r.timeouts;
  if (failed > 0) {
    throw new Error(
      `${who}: ${failed} of ${r.requests.total} requests failed (${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts; answers by status ${JSON.stringify(r.statusCodeStats)}): its figures would count them`,
    );
  }
  return r;
}
