/**
 * P1's load: LIST of k8slices with a random 3-field selector on every request (or one fixed
 * path: a baseline's own route), as one consumer.
 */
import autocannon, { type Request as AcRequest } from 'autocannon';
import { prng, randomSelectorQuery } from './catalog.js';

export interface ListLoad {
  url: string;
  /** A fixed path instead of the hub's LIST with a random selector. */
  path?: string;
  token: string;
  connections: number;
  seconds: number;
  /** Stop after this many requests instead (seconds then only bounds the run). */
  amount?: number;
  seed: number;
}

export function listLoad(o: ListLoad): Promise<autocannon.Result> {
  const r = prng(o.seed);
  return autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.seconds,
    ...(o.amount !== undefined ? { amount: o.amount } : {}),
    requests: [
      {
        method: 'GET',
        setupRequest: (req: AcRequest): AcRequest => ({
          ...req,
          path: o.path ?? `/api/v2/flavors/k8slices?${randomSelectorQuery(r)}`,
          headers: { authorization: `Bearer ${o.token}` },
        }),
      },
    ],
  });
}

/**
 * The hub's answers to `n` sampled selectors of P1's kind (seed 7), as texts: P1's baseline
 * sends them in turn, so that it sends the same distribution of bytes.
 */
export async function sampleAnswers(url: string, token: string, n: number): Promise<string[]> {
  const r = prng(7);
  const bodies: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${url}/api/v2/flavors/k8slices?${randomSelectorQuery(r)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    bodies.push(await res.text());
  }
  return bodies;
}
