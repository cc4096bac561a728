/**
 * SIGKILL in the middle of sales, on the SQLite backend: the real hub as a process, many
 * buyers reserving and purchasing over HTTP, killed at a random moment, restarted on the same
 * file, several rounds. Every contract whose purchase was answered 200 must be there after
 * the restart, byte for byte; nothing may be sold twice; the catalog must agree with the
 * contracts (a flavor listed exactly while capacity is unsold).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseQuantity } from '../../src/domain/quantity.js';
import { k8slice, makeTokens, request, sleep, type ApiResponse } from '../helpers/hub.js';
import { spawnHub, type HubProcess } from '../helpers/hub-process.js';

const ROUNDS = 3;
const BUYERS = 40;
const WHOLE_PER_ROUND = 50;
const POOLED_PER_ROUND = 8;
const PROVIDER = 'tok-provider-a';
const consumer = (i: number) => `tok-consumer-${i}`;
const DIMENSIONS = ['cpu', 'memory', 'pods'] as const;

const dir = mkdtempSync(join(tmpdir(), 'rear-crash-'));
let hub: HubProcess | undefined;
afterAll(async () => {
  await hub?.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** The hub on the test's SQLite file; a short TTP, so holds cut by a kill soon end. */
const startHub = () =>
  spawnHub({
    db: join(dir, 'hub.db'),
    tokens: join(dir, 'tokens.json'),
    args: ['--ttp', '2'],
  });

/** The published capacity of each flavor; undefined for a whole (unpartitionable) one. */
const published = new Map<string, bigint[] | undefined>();
/** Purchases answered 200: the exact bytes, and whose they are. */
const acknowledged = new Map<string, { text: string; buyer: number; flavorId: string }>();

const amounts = (characteristics: Record<string, string>): bigint[] =>
  DIMENSIONS.map((d) => parseQuantity(characteristics[d] as string) as bigint);

/** Runs `fn` over `items`, at most `limit` at a time; the results in the items' order. */
async function mapLimit<T, R>(items: T[], fn: (item: T) => Promise<R>, limit = 16): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

async function publishRound(url: string, round: number): Promise<void> {
  const indexes = Array.from({ length: WHOLE_PER_ROUND + POOLED_PER_ROUND }, (_, i) => i);
  await mapLimit(indexes, async (i) => {
    const pooled = i >= WHOLE_PER_ROUND;
    const body = pooled
      ? k8slice({ cpu: '8', memory: '16Gi', pods: '80' }, { memoryMin: '2Gi', memoryStep: '2Gi' })
      : k8slice({ cpu: '2', memory: '4Gi', pods: String(10 + round) });
    const r = await request(url, 'POST', '/api/v2/flavors', PROVIDER, body);
    expect(r.status).toBe(201);
    published.set(
      r.body.flavorId as string,
      pooled ? amounts(r.body.type.data.characteristics) : undefined,
    );
  });
}

/**
 * BUYERS loops reserving (wait=0) and purchasing until `stopped()`, or until nothing is left.
 * Requests cut by the kill simply fail: only 200 answers count.
 */
async function buy(url: string, open: string[], stopped: () => boolean): Promise<void> {
  const left = new Set(open);
  const buyer = async (b: number) => {
    while (!stopped() && left.size > 0) {
      const ids = [...left];
      const flavorId = ids[Math.floor(Math.random() * ids.length)] as string;
      const cpu = 1 + Math.floor(Math.random() * 2);
      const body = published.get(flavorId)
        ? {
            FlavorID: flavorId,
            Configuration: {
              type: 'k8slice',
              data: { cpu: String(cpu), memory: `${2 * cpu}Gi`, pods: String(10 * cpu) },
            },
          }
        : { FlavorID: flavorId };
      try {
        const hold = await request(url, 'POST', '/api/v2/reservations', consumer(b), body, {
          prefer: 'wait=0',
        });
        if (hold.status === 404) left.delete(flavorId);
        if (hold.status !== 200) continue;
        const sale = await request(
          url,
          'POST',
          `/api/v2/transactions/${hold.body.TransactionID}/purchase`,
          consumer(b),
        );
        if (sale.status === 200) {
          acknowledged.set(sale.body.ContractID as string, { text: sale.text, buyer: b, flavorId });
        }
      } catch {
        if (stopped()) return; // The hub is gone.
        await sleep(10);
      }
    }
  };
  await Promise.all(Array.from({ length: BUYERS }, (_, b) => buyer(b)));
}

/** After a restart: every acknowledged contract, byte for byte; no oversale; the catalog agrees. */
async function checkMarket(url: string): Promise<void> {
  const acks = [...acknowledged];
  const reads = await mapLimit(acks, ([id, ack]) =>
    request(url, 'GET', `/api/v2/contracts/${id}`, consumer(ack.buyer)),
  );
  acks.forEach(([id, ack], i) => {
    expect(reads[i]?.status, `contract ${id} after the restart`).toBe(200);
    expect(reads[i]?.text).toBe(ack.text);
  });
  const lists = await mapLimit(
    Array.from({ length: BUYERS }, (_, b) => b),
    (b) => request(url, 'GET', '/api/v2/contracts', consumer(b)),
  );
  const sold = new Map<string, any[]>();
  const seen = new Set<string>();
  for (const r of lists) {
    expect(r.status).toBe(200);
    for (const c of r.body as any[]) {
      expect(seen.has(c.ContractID), `contract ${c.ContractID} listed twice`).toBe(false);
      seen.add(c.ContractID);
      const flavorId = c.Flavor.flavorId as string;
      expect(published.has(flavorId)).toBe(true);
      sold.set(flavorId, [...(sold.get(flavorId) ?? []), c]);
    }
  }
  for (const id of acknowledged.keys()) expect(seen.has(id)).toBe(true);
  const flavors = [...published];
  const listings = await mapLimit(flavors, ([flavorId]) =>
    request(url, 'GET', `/api/v2/flavors/${flavorId}`, consumer(0)),
  );
  for (const [i, [flavorId, capacity]] of flavors.entries()) {
    const contracts = sold.get(flavorId) ?? [];
    const listed = listings[i] as ApiResponse;
    expect([200, 404]).toContain(listed.status);
    if (!capacity) {
      // A whole flavor: sold at most once, and listed exactly while unsold.
      expect(contracts.length, `whole flavor ${flavorId} sold more than once`).toBeLessThanOrEqual(
        1,
      );
      expect(listed.status, `whole flavor ${flavorId} listed though sold`).toBe(
        contracts.length === 0 ? 200 : 404,
      );
      continue;
    }
    const total = DIMENSIONS.map((_, i) =>
      contracts.reduce(
        (sum, c) => sum + (amounts(c.Flavor.type.data.characteristics)[i] as bigint),
        0n,
      ),
    );
    total.forEach((t, i) =>
      expect(t <= (capacity[i] as bigint), `${flavorId} oversold in ${DIMENSIONS[i]}`).toBe(true),
    );
    // Every partition is proportional to the minimum: the flavor leaves the listing exactly
    // when it is sold out, and while listed it shows what is unsold.
    const left =
      listed.status === 200
        ? amounts(listed.body.type.data.characteristics)
        : DIMENSIONS.map(() => 0n);
    expect(
      left.map((l, i) => l + (total[i] as bigint)),
      `${flavorId}: listed + sold = published`,
    ).toEqual(capacity);
  }
}

describe('SQLite: SIGKILL in the middle of sales', () => {
  // ~15 s on an idle machine, mostly the hub's starts (tsx compiles src/ on each); the
  // timeout leaves room for a machine shared with other test runs.
  it(`${ROUNDS} rounds: every acknowledged contract survives, nothing is oversold`, async () => {
    writeFileSync(join(dir, 'tokens.json'), JSON.stringify(makeTokens(BUYERS)));
    hub = await startHub();
    for (let round = 0; round < ROUNDS; round++) {
      await publishRound(hub.url, round);
      const open = [...published.keys()];
      let killed = false;
      const before = acknowledged.size;
      const buying = buy(hub.url, open, () => killed);
      // A random moment once sales are under way (a few acknowledged, most still to come).
      const target = before + 1 + Math.floor(Math.random() * 30);
      const deadline = Date.now() + 5000;
      while (acknowledged.size < target && Date.now() < deadline) await sleep(2);
      await sleep(Math.random() * 60);
      await hub.kill('SIGKILL');
      killed = true;
      await buying;
      expect(acknowledged.size, `round ${round} sold nothing before the kill`).toBeGreaterThan(
        before,
      );
      hub = await startHub();
      await checkMarket(hub.url);
    }
    expect(await hub.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 120_000);
});
