/**
 * The storage suite every backend must pass, written against a factory: the promises of
 * StoreBase (atomic, durable across reopen, seq, epoch and history kept, the reads), with the
 * change written the backend's way — a journal's `commit`, a shared store's `atomically`.
 */
import { describe, expect, it } from 'vitest';
import type {
  Change,
  Loaded,
  StoreBase,
  StoredContract,
  StoredEvent,
  StoredFlavor,
  StoredKey,
  StoredTransaction,
} from '../../src/store/store.js';

/** A store under test, and how a change is written to it. */
export interface Opened {
  store: StoreBase;
  write(change: Change): Promise<void>;
}

export interface StoreFactory {
  /** A fresh, empty store, and how to open it again. */
  create(): Promise<Opened & { reopen: () => Promise<Opened> }>;
  /** A journal resolves commits in call order (a shared store promises no such thing). */
  ordered: boolean;
}

const flavor = (id: string, status: StoredFlavor['status'] = 'live'): StoredFlavor => ({
  flavorId: id,
  providerId: 'prov-a',
  status,
  json: JSON.stringify({ flavorId: id }),
  expiresAt: 1000,
  autoRenew: true,
  ttlSeconds: 60,
});

const tx = (id: string, status: StoredTransaction['status'] = 'reserved'): StoredTransaction => ({
  transactionId: id,
  flavorId: 'f1',
  buyerId: 'cons-0',
  status,
  expiresAt: 2000,
  json: JSON.stringify({ TransactionID: id }),
});

const contract = (id: string, txId: string, at = 5): StoredContract => ({
  contractId: id,
  transactionId: txId,
  buyerId: 'cons-0',
  sellerId: 'prov-a',
  createdAt: at,
  json: JSON.stringify({ ContractID: id }),
});

/** What a load gives, its live flavors collected. */
export async function loadAll(store: StoreBase): Promise<Loaded & { flavors: StoredFlavor[] }> {
  const flavors: StoredFlavor[] = [];
  // A backend may hand the JSON as its UTF-8 bytes: the same text either way.
  const loaded = await store.load((f) =>
    flavors.push({
      ...f,
      json:
        typeof f.json === 'string' ? f.json : f.json.chunk.toString('utf8', f.json.from, f.json.to),
    }),
  );
  return { ...loaded, flavors };
}

/** Every retained event, read the way a resume reads them: from the loaded range's start. */
async function retained(store: StoreBase): Promise<StoredEvent[]> {
  const { firstSeq } = await loadAll(store);
  return store.eventsAfter(firstSeq - 1, 1_000_000);
}

export function storeSuite(name: string, factory: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    it('starts empty', async () => {
      const { store } = await factory.create();
      const loaded = await loadAll(store);
      expect(loaded).toMatchObject({ flavors: [], openTransactions: [], firstSeq: 1, lastSeq: 0 });
      expect(await store.eventsAfter(0, 10)).toEqual([]);
      expect(await store.eventTimes(0, 10)).toEqual([]);
      expect(loaded.epoch).toMatch(/^[0-9a-f]{16}$/);
      await store.close();
    });

    it('keeps what was committed across a reopen', async () => {
      const { store, write, reopen } = await factory.create();
      await write({
        flavors: [flavor('f1'), flavor('f2', 'withdrawn')],
        transactions: [tx('t1'), tx('t2', 'purchased')],
        contracts: [contract('c1', 't2')],
        events: [{ seq: 1, at: 10, flavorId: 'f1', wire: '{"type":"FLAVOR_ADDED"}' }],
      });
      const epoch = (await loadAll(store)).epoch;
      await store.close();
      const { store: again } = await reopen();
      const loaded = await loadAll(again);
      expect(loaded.epoch).toBe(epoch);
      expect(loaded.flavors.map((f) => f.flavorId)).toEqual(['f1']);
      expect(loaded.flavors[0]).toEqual(flavor('f1'));
      expect(loaded.openTransactions.map((t) => t.transactionId)).toEqual(['t1']);
      expect(loaded.firstSeq).toBe(1);
      expect(loaded.lastSeq).toBe(1);
      expect(await again.eventsAfter(0, 10)).toEqual([
        { seq: 1, at: 10, flavorId: 'f1', wire: '{"type":"FLAVOR_ADDED"}' },
      ]);
      expect(await again.transaction('t2')).toEqual(tx('t2', 'purchased'));
      expect(await again.contract('c1')).toEqual(contract('c1', 't2'));
      expect(await again.contractByTransaction('t2')).toEqual(contract('c1', 't2'));
      expect((await again.contractsOf('prov-a')).map((c) => c.contractId)).toEqual(['c1']);
      expect((await again.contractsOf('cons-0')).map((c) => c.contractId)).toEqual(['c1']);
      expect(await again.contractsOf('nobody')).toEqual([]);
      await again.close();
    });

    it("keeps a flavor's summary as written, and none where none was written", async () => {
      const { store, write, reopen } = await factory.create();
      const summary = '[1,true,"0.5","k8slice",null,"1","1Gi","3",null,null]';
      await write({ flavors: [{ ...flavor('f1'), summary }, flavor('f2'), flavor('f3')] });
      // A later version of a flavor replaces its summary, or drops it when it has none.
      await write({ flavors: [{ ...flavor('f2'), summary }, flavor('f1')] });
      await write({ flavors: [{ ...flavor('f3'), summary: summary.replace('0.5', '0.7') }] });
      await store.close();
      const { store: again } = await reopen();
      const byId = new Map((await loadAll(again)).flavors.map((f) => [f.flavorId, f]));
      expect(byId.get('f1')).toEqual(flavor('f1'));
      expect(byId.get('f1')).not.toHaveProperty('summary');
      expect(byId.get('f2')).toEqual({ ...flavor('f2'), summary });
      expect(byId.get('f3')?.summary).toBe(summary.replace('0.5', '0.7'));
      await again.close();
    });

    it('updates in place: a later commit of the same flavor or transaction wins', async () => {
      const { store, write } = await factory.create();
      await write({ flavors: [flavor('f1')], transactions: [tx('t1')] });
      await write({
        flavors: [flavor('f1', 'withdrawn')],
        transactions: [tx('t1', 'expired')],
      });
      const loaded = await loadAll(store);
      expect(loaded.flavors).toEqual([]);
      expect(loaded.openTransactions).toEqual([]);
      expect((await store.transaction('t1'))?.status).toBe('expired');
      await store.close();
    });

    it('is atomic: a failing change leaves nothing behind and does not sink its neighbours', async () => {
      const { store, write } = await factory.create();
      await write({ transactions: [tx('t1')], contracts: [contract('c1', 't1')] });
      const ok1: Change = { flavors: [flavor('a')] };
      // A second contract for the same transaction violates the one-contract-per-transaction rule.
      const bad: Change = { flavors: [flavor('b')], contracts: [contract('c2', 't1')] };
      const ok2: Change = { flavors: [flavor('c')] };
      const results = await Promise.allSettled([write(ok1), write(bad), write(ok2)]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const loaded = await loadAll(store);
      expect(loaded.flavors.map((f) => f.flavorId).sort()).toEqual(['a', 'c']);
      expect(await store.contract('c2')).toBeUndefined();
      await store.close();
    });

    if (factory.ordered) {
      it('resolves commits in call order', async () => {
        const { store, write } = await factory.create();
        const order: number[] = [];
        await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            write({ events: [{ seq: i + 1, at: i, flavorId: 'f', wire: '{}' }] }).then(() =>
              order.push(i),
            ),
          ),
        );
        expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
        expect((await retained(store)).map((e) => e.seq)).toEqual(
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
        await store.close();
      });
    }

    it('loads every live flavor and retained event with its text intact, however many', async () => {
      const { store, write } = await factory.create();
      // Past any chunk a backend may read them in; texts with escapes and non-ASCII.
      const n = 4500;
      const text = (i: number) => JSON.stringify({ i, note: `é€😀 "q" \u001e\u001f\n ${i}` });
      // Ids are free text too: some with the characters a backend may join rows with.
      const id = (p: string, i: number) => `${p}${i}${i % 5 === 0 ? '\u001e\u001f"\\é😀' : ''}`;
      const flavors = Array.from({ length: n }, (_, i) => ({
        ...flavor(id('f', i), i % 3 === 0 ? 'withdrawn' : 'live'),
        providerId: id('prov-', i),
        json: text(i),
        expiresAt: i,
        autoRenew: i % 2 === 0,
        ttlSeconds: i,
      }));
      const events = Array.from({ length: n }, (_, i) => ({
        seq: i + 1,
        at: i,
        flavorId: id('f', i),
        wire: text(-i),
        ...(i % 2 === 0 ? { prev: text(i * 7) } : { buyerId: id('b', i) }),
      }));
      await write({ flavors, events });
      const loaded = await loadAll(store);
      const byId = (a: StoredFlavor, b: StoredFlavor) => a.flavorId.localeCompare(b.flavorId);
      expect([...loaded.flavors].sort(byId)).toEqual(
        flavors.filter((f) => f.status === 'live').sort(byId),
      );
      expect(loaded).toMatchObject({ firstSeq: 1, lastSeq: n });
      expect(await retained(store)).toEqual(events);
      await store.close();
    });

    it('rejects a load whose consumer throws, and loads again after it', async () => {
      const { store, write } = await factory.create();
      // More than one chunk, so a backend that streams them meets the throw midway.
      const flavors = Array.from({ length: 4100 }, (_, i) => flavor(`f${i}`));
      await write({ flavors });
      let seen = 0;
      await expect(
        store.load(() => {
          if (++seen === 2500) throw new Error('consumer failed');
        }),
      ).rejects.toThrow('consumer failed');
      expect((await loadAll(store)).flavors).toHaveLength(4100);
      await store.close();
    });

    it('reads the retained history after a seq, a page at a time, and its times alone', async () => {
      const { store, write } = await factory.create();
      const events = Array.from({ length: 30 }, (_, i) => ({
        seq: i + 1,
        at: 1000 + i,
        flavorId: `f${i % 4}`,
        wire: JSON.stringify({ i }),
        ...(i % 3 === 0 ? { prev: '{"p":1}' } : {}),
      }));
      await write({ events });
      expect(await store.eventsAfter(10, 5)).toEqual(events.slice(10, 15));
      expect(await store.eventsAfter(28, 5)).toEqual(events.slice(28));
      expect(await store.eventsAfter(30, 5)).toEqual([]);
      expect(await store.eventTimes(0, 3)).toEqual([
        { seq: 1, at: 1000 },
        { seq: 2, at: 1001 },
        { seq: 3, at: 1002 },
      ]);
      expect((await store.eventTimes(25, 100)).map((t) => t.seq)).toEqual([26, 27, 28, 29, 30]);
      // A prune moves the loaded range's start; what is left reads the same.
      await write({ pruneEventsThrough: 12 });
      expect(await loadAll(store)).toMatchObject({ firstSeq: 13, lastSeq: 30 });
      expect(await store.eventsAfter(0, 2)).toEqual(events.slice(12, 14));
      expect((await store.eventTimes(0, 1))[0]).toEqual({ seq: 13, at: 1012 });
      await store.close();
    });

    it('prunes history but remembers the last seq', async () => {
      const { store, write, reopen } = await factory.create();
      await write({
        events: [1, 2, 3].map((seq) => ({
          seq,
          at: seq,
          flavorId: 'f',
          wire: '{}',
          prev: '{"p":1}',
          buyerId: 'b',
        })),
      });
      await write({ pruneEventsThrough: 3 });
      await store.close();
      const { store: again } = await reopen();
      const loaded = await loadAll(again);
      expect(loaded).toMatchObject({ firstSeq: 4, lastSeq: 3 });
      expect(await again.eventsAfter(0, 10)).toEqual([]);
      await again.close();
    });

    it('keeps contract keys across a reopen, oldest first, and ignores a kid added twice', async () => {
      const { store, reopen } = await factory.create();
      expect(await store.keys()).toEqual([]);
      const key = (kid: string, createdAt: number): StoredKey => ({
        kid,
        createdAt,
        privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${kid}\n-----END PRIVATE KEY-----\n`,
        publicJwk: JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: kid }),
      });
      await store.addKey(key('k2', 20));
      await store.addKey(key('k1', 10));
      // The same kid again (another instance's first start, say) changes nothing.
      await store.addKey({ ...key('k1', 99), publicJwk: '{}' });
      await store.close();
      const { store: again } = await reopen();
      expect(await again.keys()).toEqual([key('k1', 10), key('k2', 20)]);
      await again.close();
    });

    it("remembers a transaction's dialect and keeps it through later updates", async () => {
      const { store, write, reopen } = await factory.create();
      await write({ transactions: [{ ...tx('t1'), dialect: 'fluidos' }, tx('t2')] });
      // A later status update need not repeat the dialect.
      await write({ transactions: [tx('t1', 'purchased')] });
      await store.close();
      const { store: again, write: writeAgain } = await reopen();
      expect(await again.transaction('t1')).toEqual({
        ...tx('t1', 'purchased'),
        dialect: 'fluidos',
      });
      expect(await again.transaction('t2')).toEqual(tx('t2'));
      await writeAgain({ transactions: [{ ...tx('t3'), dialect: 'fluidos' }] });
      expect((await loadAll(again)).openTransactions).toEqual([
        tx('t2'),
        { ...tx('t3'), dialect: 'fluidos' },
      ]);
      await again.close();
    });

    it('close() is safe twice and refuses later commits', async () => {
      const { store, write } = await factory.create();
      await store.close();
      await store.close();
      await expect(write({ flavors: [flavor('late')] })).rejects.toThrow();
    });
  });
}
