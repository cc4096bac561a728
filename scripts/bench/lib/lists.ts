/**
 * P1's load: LIST of k8slices with a random 3-field selector on every request, as one
 * consumer (the hub and P1's baseline alike: the baseline answers the same path).
 */
import autocannon, { type Request as AcRequest } from 'autocannon';
import { allSelectorQueries, prng, randomSelectorQuery } from './catalog.js';

export interface ListLoad {
  url: string;
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
          path: `/api/v2/flavors/k8slices?${randomSelectorQuery(r)}`,
          headers: { authorization: `Bearer ${o.token}` },
        }),
      },
    ],
  });
}

/**
 * The hub's answer to every query of P1's load (allSelectorQueries), by query: P1's baseline
 * answers each request with the hub's own answer to it, so both send the same bytes.
 */
export async function hubAnswers(url: string, token: string): Promise<Record<string, string>> {
  const answers: Record<string, string> = {};
  for (const query of allSelectorQueries()) {
    const res = await fetch(`${url}/api/v2/flavors/k8slices?${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!res.ok) throw new Error(`LIST ?${query} answered ${res.status}`);
    answers[query] = await res.text();
  }
  return answers;
}
