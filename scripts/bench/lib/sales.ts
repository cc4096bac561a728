/**
 * P2's load: each autocannon connection reserves a random partition of a random flavor as a
 * random buyer, then purchases the Transaction it got. Requests are built before the run and
 * the TransactionID is cut out of the answer, not parsed: the generator shares the two cores
 * with the server, so it takes as little as it can.
 */
import autocannon, { type Request as AcRequest } from 'autocannon';
import { bearer } from './buyers.js';
import { prng } from './catalog.js';

/** autocannon's per-connection context across the two requests. */
interface Ctx {
  /** The purchase's headers: the same buyer as the reservation. */
  purchase?: Record<string, string>;
  tx?: string;
}

export interface SaleLoad {
  url: string;
  /** Path prefix of the two routes ('' for the hub; the sale floors have their own). */
  prefix?: string;
  /** Flavors to reserve from. */
  flavorIds: readonly string[];
  /** Buyers, by bearer token. */
  tokens: readonly string[];
  seed: number;
  seconds: number;
  /** Stop after this many requests instead (seconds then only bounds the run). */
  amount?: number;
  connections?: number;
}

export function saleLoad(o: SaleLoad): Promise<autocannon.Result> {
  const r = prng(o.seed);
  const prefix = o.prefix ?? '';
  const plan = Array.from({ length: 4096 }, () => {
    const cpu = String(1 + Math.floor(r() * 4));
    const authorization = bearer(o.tokens[Math.floor(r() * o.tokens.length)] ?? '');
    return {
      headers: { authorization, 'content-type': 'application/json' },
      purchase: { authorization },
      body: JSON.stringify({
        FlavorID: o.flavorIds[Math.floor(r() * o.flavorIds.length)],
        Configuration: { type: 'k8slice', data: { cpu, memory: `${cpu}Gi`, pods: cpu } },
      }),
    };
  });
  let next = 0;
  return autocannon({
    url: o.url,
    connections: o.connections ?? 64,
    duration: o.seconds,
    ...(o.amount !== undefined ? { amount: o.amount } : {}),
    requests: [
      {
        method: 'POST',
        path: `${prefix}/api/v2/reservations`,
        setupRequest: (req: AcRequest, c: object): AcRequest => {
          const step = plan[next++ & 4095] as (typeof plan)[number];
          (c as Ctx).purchase = step.purchase;
          return { ...req, headers: step.headers, body: step.body };
        },
        onResponse: (_status: number, body: string, c: object) => {
          const at = body.indexOf('"TransactionID":"') + 17;
          (c as Ctx).tx = at > 16 ? body.slice(at, body.indexOf('"', at)) : undefined;
        },
      },
      {
        method: 'POST',
        setupRequest: (req: AcRequest, c: object): AcRequest => ({
          ...req,
          path: `${prefix}/api/v2/transactions/${(c as Ctx).tx ?? 'none'}/purchase`,
          headers: (c as Ctx).purchase ?? {},
        }),
      },
    ],
  });
}
