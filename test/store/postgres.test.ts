/**
 * The PostgreSQL store on a throwaway cluster: the shared storage suite, then what only a
 * shared store promises — decisions under the flavor's lock, seqs in commit order under
 * concurrent writers, a rolled-back decision, the line and its wake-ups.
 */
import pgDriver from 'pg';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { HubError } from '../../src/errors.js';
import type { SharedChange } from '../../src/store/shared-store.js';
import { pipelined } from '../../src/store/pg-prepared.js';
import { PostgresStore } from '../../src/store/store-postgres.js';
import type { Change, StoredContract, StoredFlavor } from '../../src/store/store.js';
import { startHub } from '../helpers/hub.js';
import { withPostgres } from '../helpers/postgres.js';
import { loadAll, storeSuite } from './store-suite.js';

const pg = withPostgres();

/** A journal change as a shared store writes it: the events get the store's seqs. */
function shared(change: Change): SharedChange {
  const { events, ...rest } = change;
  return {
    ...rest,
    // These wires do not carry their seq: each is stored as it is.
    ...(events?.length
      ? { events: events.map(({ seq: _, wire, ...e }) => ({ ...e, before: wire })) }
      : {}),
  };
}

async function open(url: string): Promise<PostgresStore> {
  return PostgresStore.open(url, { clock: systemClock });
}

function opened(store: PostgresStore) {
  return {
    store,
    write: async (change: Change) => {
      await store.atomically({}, () => ({ change: shared(change), result: undefined }));
    },
  };
}

storeSuite('PostgreSQL', {
  async create() {
    const url = await pg().createDatabase();
    return { ...opened(await open(url)), reopen: async () => opened(await open(url)) };
  },
  ordered: false,
});

const flavor = (id: string): StoredFlavor => ({
  flavorId: id,
  providerId: 'prov-a',
  status: 'live',
  json: '{}',
  expiresAt: 1000,
  autoRenew: true,
  ttlSeconds: 60,
});

/** Transaction tN purchased from flavorId, and its contract cN, as a sale writes them. */
const purchased = (n: number, flavorId: string) => ({
  transactions: [
    {
      transactionId: `t${n}`,
      flavorId,
      buyerId: 'b',
      status: 'purchased' as const,
      expiresAt: 1,
      json: '{}',
    },
  ],
  contracts: [
    {
      contractId: `c${n}`,
      transactionId: `t${n}`,
      buyerId: 'b',
      sellerId: 'prov-a',
      createdAt: n,
      json: '{}',
    },
  ],
});

describe('PostgreSQL shared store', () => {
  it('decides under the flavor lock: concurrent deciders see each other, one at a time', async () => {
    const store = await open(await pg().createDatabase());
    await store.atomically({}, () => ({ change: { flavors: [flavor('f')] }, result: 0 }));
    // Twenty deciders each take a hold only if fewer than five are held: exactly five win.
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.atomically({ flavorId: 'f' }, (locked) => {
          if (locked.holds.length >= 5) return { result: false };
          return {
            change: {
              transactions: [
                {
                  transactionId: `t${i}`,
                  flavorId: 'f',
                  buyerId: `b${i}`,
                  status: 'reserved' as const,
                  expiresAt: 9e12,
                  json: '{}',
                },
              ],
            },
            result: true,
          };
        }),
      ),
    );
    expect(results.filter((r) => r.result)).toHaveLength(5);
    const locked = await store.atomically({ flavorId: 'f' }, (l) => ({ result: l.holds }));
    expect(locked.result).toHaveLength(5);
    await store.close();
  });

  it('gives seqs in commit order under concurrent writers: a reader never sees a gap', async () => {
    const store = await open(await pg().createDatabase());
    const writers = Array.from({ length: 40 }, (_, i) =>
      store.atomically({}, () => ({
        change: {
          // Each wire carries its seq, put in by the store as it takes it.
          events: [0, 1].map(() => ({ at: i, flavorId: `f${i}`, before: '{"seq":', after: '}' })),
        },
        result: i,
      })),
    );
    // Read while they commit: every page read is contiguous from the cursor.
    let cursor = 0;
    const seen: number[] = [];
    const reading = (async () => {
      while (cursor < 80) {
        for (const e of await store.eventsAfter(cursor, 1000)) {
          expect(e.seq).toBe(cursor + 1);
          expect(e.wire).toBe(`{"seq":${e.seq}}`);
          cursor = e.seq;
          seen.push(e.seq);
        }
      }
    })();
    const written = await Promise.all(writers);
    await reading;
    expect(seen).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    // Both events of one change are adjacent.
    expect(new Set(written.map((w) => w.lastSeq % 2))).toEqual(new Set([0]));
    await store.close();
  });

  it('writes nothing when the decision throws, and passes the error on', async () => {
    const store = await open(await pg().createDatabase());
    await expect(
      store.atomically({ flavorId: 'nope' }, () => {
        throw new HubError('FLAVOR_NOT_FOUND');
      }),
    ).rejects.toMatchObject({ code: 'FLAVOR_NOT_FOUND' });
    expect((await loadAll(store)).flavors).toEqual([]);
    await store.close();
  });

  it('keeps a line in arrival order; settling a waiter wakes its instance, which collects it', async () => {
    const url = await pg().createDatabase();
    const a = await open(url);
    const b = await open(url);
    const woke: string[] = [];
    const wakeups = (name: string) => ({
      events: () => {},
      line: () => woke.push(name),
      health: () => {},
      leader: () => {},
    });
    await a.listen(wakeups('a'));
    await b.listen(wakeups('b'));
    // Each listener wakes once on connecting (to catch up); count from here.
    woke.length = 0;
    await a.atomically({}, () => ({ change: { flavors: [flavor('f')] }, result: 0 }));
    const waiter = (id: string, instanceId: string) => ({
      waiterId: id,
      flavorId: 'f',
      instanceId,
      holdKey: id,
      buyer: '{}',
      configuration: null,
      outcome: null,
      transactionId: null,
    });
    for (const [id, inst] of [
      ['w1', b.instanceId],
      ['w2', a.instanceId],
      ['w3', b.instanceId],
    ] as const) {
      await a.atomically({ flavorId: 'f' }, () => ({
        change: { addWaiters: [waiter(id, inst)] },
        result: 0,
      }));
    }
    const line = await a.atomically({ flavorId: 'f' }, (l) => ({ result: l.waiters }));
    expect(line.result.map((w) => w.waiterId)).toEqual(['w1', 'w2', 'w3']);
    await a.atomically({ flavorId: 'f' }, () => ({
      change: { settleWaiters: [{ waiterId: 'w1', outcome: 'not_found' }] },
      result: 0,
    }));
    await expect.poll(() => woke).toEqual(['b']);
    expect((await b.collectSettled()).map((w) => [w.waiterId, w.outcome])).toEqual([
      ['w1', 'not_found'],
    ]);
    expect(await a.collectSettled()).toEqual([]);
    await a.close();
    await b.close();
  });

  it('elects one leader among instances; the next takes over when it closes', async () => {
    const url = await pg().createDatabase();
    const leaders = new Map<string, boolean>();
    const stores = await Promise.all([open(url), open(url), open(url)]);
    for (const s of stores) {
      await s.listen({
        events: () => {},
        line: () => {},
        health: () => {},
        leader: (l) => leaders.set(s.instanceId, l),
      });
    }
    const leading = () => [...leaders].filter(([, l]) => l).map(([id]) => id);
    await expect.poll(leading).toHaveLength(1);
    const first = leading()[0];
    await stores.find((s) => s.instanceId === first)?.close();
    leaders.delete(first as string);
    await expect.poll(leading, { timeout: 5000 }).toHaveLength(1);
    expect(leading()[0]).not.toBe(first);
    for (const s of stores) await s.close();
  });
});

describe('PostgreSQL connections (--pg-pool)', () => {
  /** Backends connected to the database `url` names, this probe's own left out. */
  async function backends(url: string): Promise<number> {
    const probe = new pgDriver.Client({ connectionString: url });
    await probe.connect();
    try {
      const r = await probe.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      return Number(r.rows[0]?.n);
    } finally {
      await probe.end();
    }
  }

  it('opens no more connections than its pool size, however many reads wait', async () => {
    const url = await pg().createDatabase();
    const small = await PostgresStore.open(url, { clock: systemClock, poolSize: 2 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => small.transaction(`none-${i}`)));
    expect(await backends(url)).toBe(2);
    await small.close();
    // The default pool, under the same reads, opens more: the option is what held it at 2.
    const other = await pg().createDatabase();
    const dflt = await PostgresStore.open(other, { clock: systemClock });
    await Promise.all(Array.from({ length: 20 }, (_, i) => dflt.transaction(`none-${i}`)));
    expect(await backends(other)).toBeGreaterThan(2);
    await dflt.close();
  });

  it('a hub built with pgPoolSize keeps to it: its pool and one listening connection', async () => {
    const url = await pg().createDatabase();
    const hub = await startHub({ dbPath: url, pgPoolSize: 2 });
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          hub.api('GET', `/api/v2/transactions/none-${i}`, hub.tokens['cons-0']),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(404));
      expect(await backends(url)).toBeLessThanOrEqual(3);
    } finally {
      await hub.close();
    }
  });
});

describe('PostgreSQL prepared statements', () => {
  it('stay valid when a newer instance adds columns (a rolling upgrade)', async () => {
    const url = await pg().createDatabase();
    // One connection: the statements prepared before the change are the ones run after it.
    const store = await PostgresStore.open(url, { clock: systemClock, poolSize: 1 });
    const { write } = opened(store);
    const sale = async (n: number) => {
      await write({ flavors: [flavor(`f${n}`)], ...purchased(n, `f${n}`) });
      await store.atomically({ flavorId: `f${n}` }, (locked) => ({ result: locked.flavor }));
      expect((await store.transaction(`t${n}`))?.status).toBe('purchased');
      expect((await store.contract(`c${n}`))?.transactionId).toBe(`t${n}`);
      expect((await store.contractsOf('b')).length).toBe(n);
    };
    await sale(1);
    const admin = new pgDriver.Client({ connectionString: url });
    await admin.connect();
    for (const table of ['flavors', 'transactions', 'contracts', 'waiters'])
      await admin.query(`ALTER TABLE ${table} ADD COLUMN added_later text`);
    await admin.end();
    await sale(2);
    await store.close();
  });
});

describe('PostgreSQL round trips (pg-prepared.ts pipelined)', () => {
  /** A purchase's shape: the transaction's flavor locked, rows of three tables, two events. */
  const sale = (n: number): SharedChange => ({
    flavors: [flavor('f')],
    ...purchased(n, 'f'),
    events: [
      { at: n, flavorId: 'f', before: '{"seq":', after: ',"kind":"refresh"}' },
      { at: n, flavorId: 'f', buyerId: 'b', before: '{"seq":', after: ',"kind":"confirm"}' },
    ],
  });

  it('decides in two round trips once its statements are prepared: BEGIN, lock and read; writes and COMMIT', async () => {
    const store = await PostgresStore.open(await pg().createDatabase(), {
      clock: systemClock,
      poolSize: 1,
    });
    await store.atomically({}, () => ({ change: { flavors: [flavor('f')] }, result: 0 }));
    const hold = (n: number) =>
      store.atomically({ flavorId: 'f' }, () => ({
        change: {
          transactions: [
            {
              transactionId: `t${n}`,
              flavorId: 'f',
              buyerId: 'b',
              status: 'reserved' as const,
              expiresAt: 9e12,
              json: '{}',
            },
          ],
        },
        result: 0,
      }));
    const buy = (n: number) =>
      store.atomically({ transactionId: `t${n}` }, (l) => ({ change: sale(n), result: l }));
    // The first of each shape prepares its statements, one by one.
    await hold(1);
    await buy(1);
    const sent: unknown[] = [];
    const query = pgDriver.Client.prototype.query;
    const spy = function (this: pgDriver.Client, ...args: unknown[]) {
      sent.push(args[0]);
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    };
    pgDriver.Client.prototype.query = spy as typeof query;
    try {
      await hold(2);
      expect(sent).toHaveLength(2);
      const bought = await buy(2);
      expect(sent).toHaveLength(4);
      // What the pipelined lock read: the flavor, its holds and the transaction.
      expect(bought.result.flavor?.flavorId).toBe('f');
      expect(bought.result.transaction?.status).toBe('reserved');
      expect(bought.result.holds.map((h) => h.transactionId)).toEqual(['t2']);
      expect(bought.lastSeq).toBe(4);
    } finally {
      pgDriver.Client.prototype.query = query;
    }
    // The events got their seqs in their wires, in the order written.
    expect((await store.eventsAfter(0, 10)).map((e) => [e.seq, e.wire, e.buyerId])).toEqual([
      [1, '{"seq":1,"kind":"refresh"}', undefined],
      [2, '{"seq":2,"kind":"confirm"}', 'b'],
      [3, '{"seq":3,"kind":"refresh"}', undefined],
      [4, '{"seq":4,"kind":"confirm"}', 'b'],
    ]);
    expect((await store.contract('c2'))?.transactionId).toBe('t2');
    await store.close();
  });

  it('fails a pipeline at once on a value pg cannot send, sends nothing after it, and the connection goes on', async () => {
    const client = new pgDriver.Client({ connectionString: await pg().createDatabase() });
    await client.connect();
    try {
      await client.query('CREATE TABLE t (v text)');
      const steps = (value: unknown) => [
        { text: 'BEGIN' },
        { text: 'INSERT INTO t (v) VALUES ($1)', values: ['before'] },
        { text: 'INSERT INTO t (v) VALUES ($1)', values: [value] },
        { text: 'INSERT INTO t (v) VALUES ($1)', values: ['after'] },
        { text: 'COMMIT' },
      ];
      // Prepared one by one first, so the next run is a pipeline.
      await pipelined(client, steps('fine'));
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      await expect(pipelined(client, steps(circular))).rejects.toThrow(/circular/i);
      await client.query('ROLLBACK');
      const results = await pipelined(client, steps('again'));
      expect(results.map((r) => r.command)).toEqual([
        'BEGIN',
        'INSERT',
        'INSERT',
        'INSERT',
        'COMMIT',
      ]);
      const rows = await client.query('SELECT v FROM t ORDER BY v');
      expect(rows.rows.map((r) => r.v)).toEqual([
        'after',
        'after',
        'again',
        'before',
        'before',
        'fine',
      ]);
    } finally {
      await client.end();
    }
  });

  it('commits nothing of a pipeline whose write fails, takes no seq, and the connection goes on', async () => {
    const store = await PostgresStore.open(await pg().createDatabase(), {
      clock: systemClock,
      poolSize: 1,
    });
    await store.atomically({}, () => ({ change: { flavors: [flavor('f')] }, result: 0 }));
    // Prepared first, so the failing run below is pipelined.
    await store.atomically({ flavorId: 'f' }, () => ({ change: sale(1), result: 0 }));
    const broken = sale(2);
    // A contract whose transaction no row holds: the foreign key fails the write statement.
    (broken.contracts as StoredContract[])[0]!.transactionId = 'nowhere';
    broken.flavors = [{ ...flavor('f'), json: '{"changed":true}' }];
    await expect(
      store.atomically({ flavorId: 'f' }, () => ({ change: broken, result: 0 })),
    ).rejects.toMatchObject({ code: '23503' });
    const after = await store.atomically({ flavorId: 'f' }, (l) => ({
      change: sale(3),
      result: l,
    }));
    expect(after.result.flavor?.json).toBe('{}');
    expect(after.lastSeq).toBe(4);
    expect(await store.contract('c2')).toBeUndefined();
    expect((await store.eventsAfter(0, 10)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    await store.close();
  });
});
