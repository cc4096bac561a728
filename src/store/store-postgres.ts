/**
 * The PostgreSQL store (shared-store.ts says what it promises): any number of hub processes
 * on one database are one market.
 *
 * - Writes: `atomically` takes the flavor's row lock (SELECT … FOR UPDATE) in a statement of its
 *   own, then reads the flavor's holds and line in the next statement (READ COMMITTED gives each
 *   statement a fresh snapshot, so that read sees everything the previous lock holder
 *   committed), lets the domain decide, and writes the outcome in the same transaction. The
 *   events come last: one counter row hands out their seqs in the statement that writes them,
 *   held to COMMIT, so seq order is commit order (the scheme of Commanded's EventStore; a bare
 *   sequence would hand out numbers out of commit order and a reader of `seq > cursor` could
 *   skip one).
 * - Round trips: two per decision (lockSteps: BEGIN, lock, read; commitSteps: the writes and
 *   COMMIT), each a pipeline of prepared statements (pg-prepared.ts). The counter row is the
 *   market's one serialized point, so it is taken only in the pipeline that ends in COMMIT: it
 *   is held on the server alone, for the write and the commit's flush, never while this
 *   process's event loop gets round to sending the next statement.
 * - Wake-ups: NOTIFY in the same transaction (delivered at commit) on `rear_events` with the
 *   newest seq, and on `rear_line` with the id of each instance whose waiter was settled. One
 *   dedicated connection per instance LISTENs (node-postgres advises a Client, not a pooled
 *   one), pings every second, and holds the leader's session advisory lock: a dead instance
 *   loses it when its connection closes.
 * - Faults: every failure to reach the database is UNAVAILABLE (503 with Retry-After); the
 *   listener reconnects with backoff, and the caller catches up from its cursor.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Clock } from '../clock.js';
import { HubError } from '../errors.js';
import { pipelined, prepared, type Step } from './pg-prepared.js';
import { PG_MIGRATIONS } from './postgres-migrations.js';
import { toContract, toEvent, toTransaction as toStoredTransaction, type Row } from './rows.js';
import type {
  LockedFlavor,
  Outcome,
  SharedChange,
  SharedFlavor,
  SharedStore,
  SharedTransaction,
  StoredWaiter,
  Target,
  Wakeups,
} from './shared-store.js';
import type {
  EventTime,
  Loaded,
  StoredContract,
  StoredEvent,
  LoadedFlavor,
  StoredKey,
  StoreObserver,
  UnnumberedEvent,
} from './store.js';

export interface PostgresOptions {
  clock: Clock;
  /** Told of every committed transaction (metrics); each `atomically` is one. */
  observer?: StoreObserver;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** How often the listener pings, heartbeats and, when not leader, bids for leadership (ms). */
  tickMs?: number;
  /** A heartbeat older than this marks an instance gone (ms). */
  staleAfterMs?: number;
}

/** Columns read back, named rather than `*` (pg-prepared.ts says why). */
const FLAVOR_COLUMNS = 'flavor_id, provider_id, status, json, expires_at, auto_renew, ttl_seconds';
const TRANSACTION_COLUMNS =
  'transaction_id, flavor_id, buyer_id, status, expires_at, json, hold_key, dialect';
const CONTRACT_COLUMNS = 'contract_id, transaction_id, buyer_id, seller_id, created_at, json';
const WAITER_COLUMNS =
  'waiter_id, line_pos, flavor_id, instance_id, hold_key, buyer, configuration, outcome, transaction_id, dialect';

const LEADER_LOCK = 7_263_001;
const MIGRATION_LOCK = 7_263_000;
/** Retries of a transaction the database aborted as a deadlock or serialization failure. */
const MAX_RETRIES = 5;

export class PostgresStore implements SharedStore {
  readonly kind = 'postgres' as const;
  readonly instanceId = `in-${randomBytes(6).toString('hex')}`;
  private readonly pool: pg.Pool;
  private listener: pg.Client | undefined;
  private wakeups: Wakeups | undefined;
  private up = true;
  private leading = false;
  private closed = false;
  private tick: ReturnType<typeof setInterval> | undefined;
  private reconnect: ReturnType<typeof setTimeout> | undefined;
  private backoffMs = 100;
  private readonly tickMs: number;
  private readonly staleAfterMs: number;

  private constructor(
    private readonly url: string,
    private readonly options: PostgresOptions,
  ) {
    this.tickMs = options.tickMs ?? 1000;
    this.staleAfterMs = options.staleAfterMs ?? 15_000;
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      // A transaction left open by a hung instance must not hold a flavor's lock for long.
      options: '-c idle_in_transaction_session_timeout=10000',
      connectionTimeoutMillis: 5000,
    });
    // A pooled connection that breaks (the server restarted) must not crash the process: an
    // idle one reports on the pool; one checked out may hear the server's goodbye between two
    // queries, when no query is there to take the error. Its next query fails, and withClient
    // then drops it from the pool.
    this.pool.on('error', () => {});
    this.pool.on('connect', (client) => client.on('error', () => {}));
  }

  /** Connects and applies the migrations; rejects when the database cannot be reached. */
  static async open(url: string, options: PostgresOptions): Promise<PostgresStore> {
    const store = new PostgresStore(url, options);
    try {
      await store.migrate();
    } catch (err) {
      await store.pool.end().catch(() => {});
      throw err;
    }
    return store;
  }

  private async migrate(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)');
      const r = await c.query('SELECT version FROM schema_version');
      let version = r.rows[0] ? Number(r.rows[0].version) : 0;
      if (!r.rows[0]) await c.query('INSERT INTO schema_version (version) VALUES (0)');
      for (const [i, sql] of PG_MIGRATIONS.entries()) {
        if (i < version) continue;
        await c.query(sql);
        version = i + 1;
        await c.query('UPDATE schema_version SET version = $1', [version]);
      }
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }

  healthy(): boolean {
    return this.up && !this.closed;
  }

  async load(each: (flavor: LoadedFlavor) => void): Promise<Loaded> {
    const { rows, loaded } = await this.withClient(async (c) => {
      // One snapshot: the flavors as of exactly the last seq, so the feed goes on from there.
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      try {
        const flavors = await c.query(`SELECT * FROM flavors WHERE status = 'live'`);
        const open = await c.query(
          `SELECT * FROM transactions WHERE status = 'reserved' ORDER BY transaction_id`,
        );
        const first = await c.query('SELECT min(seq) AS seq FROM events');
        const seq = await c.query('SELECT last_seq FROM seq_counter');
        const epoch = await c.query(`SELECT value FROM meta WHERE key = 'epoch'`);
        await c.query('COMMIT');
        const loaded: Loaded = {
          openTransactions: open.rows.map(toTransaction),
          firstSeq:
            first.rows[0].seq === null
              ? Number(seq.rows[0].last_seq) + 1
              : Number(first.rows[0].seq),
          lastSeq: Number(seq.rows[0].last_seq),
          epoch: String(epoch.rows[0].value),
        };
        return { rows: flavors.rows as Row[], loaded };
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
    // Outside the connection: the consumer's own failure is not the store's.
    for (const row of rows) each(toFlavor(row));
    return loaded;
  }

  /**
   * Two round trips: BEGIN, the lock and the read in one; the domain decides; the writes and
   * COMMIT in the other. The seq counter is taken in the write, so the market-wide lock it is
   * held from there to COMMIT on the server alone, never across this process's event loop.
   */
  async atomically<T>(
    target: Target,
    fn: (locked: LockedFlavor) => Outcome<T>,
  ): Promise<{ result: T; lastSeq: number }> {
    return this.withClient(async (c) => {
      for (let attempt = 0; ; attempt++) {
        const started = performance.now();
        try {
          const locked = await this.lock(c, target);
          let outcome: Outcome<T>;
          try {
            outcome = fn(locked);
          } catch (err) {
            await c.query('ROLLBACK');
            throw new Decided(err);
          }
          const lastSeq = await this.commit(c, outcome.change);
          this.observe(started);
          return { result: outcome.result, lastSeq };
        } catch (err) {
          if (err instanceof Decided) throw err.cause;
          if (isConnectionError(err)) throw err;
          await c.query('ROLLBACK').catch(() => {});
          const code = (err as { code?: string }).code;
          if ((code === '40P01' || code === '40001') && attempt < MAX_RETRIES) continue;
          throw err;
        }
      }
    });
  }

  private observe(started: number): void {
    try {
      this.options.observer?.commit((performance.now() - started) / 1000, 1);
    } catch {
      // Metrics never break a write.
    }
  }

  /** BEGIN, the lock and the read (lockSteps): one round trip. */
  private async lock(c: pg.PoolClient, target: Target): Promise<LockedFlavor> {
    const results = await pipelined(c, lockSteps(target));
    const locks = results.length === 3;
    const f = locks ? results[1]?.rows[0] : undefined;
    const row = results[results.length - 1]?.rows[0] as {
      holds: Row[];
      waiters: Row[];
      tx: Row | null;
    };
    return {
      flavor: f ? toFlavor(f) : undefined,
      holds: row.holds.map(toTransaction),
      waiters: row.waiters.map(toWaiter),
      transaction: row.tx ? toTransaction(row.tx) : undefined,
    };
  }

  /** The writes and COMMIT (commitSteps): one round trip; the highest seq written (0: none). */
  private async commit(c: pg.PoolClient, change: SharedChange | undefined): Promise<number> {
    const results = await pipelined(c, commitSteps(change));
    return change?.events?.length ? Number(results[0]?.rows[0]?.last_seq) : 0;
  }

  async eventsAfter(after: number, limit: number): Promise<StoredEvent[]> {
    // With `prev`, as the store contract reads the history (a resume from before the start);
    // rows written since the hub rebuilds it from ModificationDetails have none to send.
    const r = await this.query(
      `SELECT seq, at, flavor_id, wire, prev, buyer_id FROM events
        WHERE seq > $1 ORDER BY seq LIMIT $2`,
      [after, limit],
    );
    return r.rows.map(toEvent);
  }

  async eventTimes(after: number, limit: number): Promise<EventTime[]> {
    const r = await this.query('SELECT seq, at FROM events WHERE seq > $1 ORDER BY seq LIMIT $2', [
      after,
      limit,
    ]);
    return r.rows.map((row: Row) => ({ seq: Number(row.seq), at: Number(row.at) }));
  }

  async collectSettled(): Promise<StoredWaiter[]> {
    const r = await this.query(
      `DELETE FROM waiters WHERE instance_id = $1 AND outcome IS NOT NULL RETURNING ${WAITER_COLUMNS}`,
      [this.instanceId],
    );
    return r.rows.map(toWaiter);
  }

  async dueFlavors(now: number, limit: number): Promise<string[]> {
    const r = await this.query(
      `SELECT flavor_id FROM flavors WHERE status = 'live' AND due_at <= $1 ORDER BY due_at LIMIT $2`,
      [now, limit],
    );
    return r.rows.map((row) => row.flavor_id as string);
  }

  async dueHolds(
    now: number,
    limit: number,
  ): Promise<Array<{ transactionId: string; flavorId: string }>> {
    const r = await this.query(
      `SELECT transaction_id, flavor_id FROM transactions
        WHERE status = 'reserved' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`,
      [now, limit],
    );
    return r.rows.map((row) => ({
      transactionId: row.transaction_id as string,
      flavorId: row.flavor_id as string,
    }));
  }

  async orphanWaiters(now: number): Promise<Array<{ waiterId: string; flavorId: string }>> {
    // An instance is gone when the backend of its listening connection is (TCP noticed), or
    // when its heartbeat is stale (TCP has not noticed yet).
    const gone = `(i.instance_id IS NULL OR i.seen_at < $1 OR NOT EXISTS (
        SELECT 1 FROM pg_stat_activity a WHERE a.pid = i.pid AND a.backend_start = i.backend_start))`;
    // Answers already settled for a gone instance have no one to reach: drop them, and the
    // registration of a gone instance that has nothing left in any line.
    await this.query(
      `DELETE FROM waiters w USING waiters x LEFT JOIN instances i ON i.instance_id = x.instance_id
        WHERE w.waiter_id = x.waiter_id AND x.outcome IS NOT NULL AND ${gone}`,
      [now - this.staleAfterMs],
    );
    await this.query(
      `DELETE FROM instances i WHERE (i.seen_at < $1 OR NOT EXISTS (
          SELECT 1 FROM pg_stat_activity a WHERE a.pid = i.pid AND a.backend_start = i.backend_start))
        AND NOT EXISTS (SELECT 1 FROM waiters w WHERE w.instance_id = i.instance_id)`,
      [now - this.staleAfterMs],
    );
    const r = await this.query(
      `SELECT w.waiter_id, w.flavor_id FROM waiters w
         LEFT JOIN instances i ON i.instance_id = w.instance_id
        WHERE w.outcome IS NULL AND ${gone}`,
      [now - this.staleAfterMs],
    );
    return r.rows.map((row) => ({
      waiterId: row.waiter_id as string,
      flavorId: row.flavor_id as string,
    }));
  }

  async pruneEvents(throughSeq: number): Promise<void> {
    await this.query('DELETE FROM events WHERE seq <= $1', [throughSeq]);
  }

  async keys(): Promise<StoredKey[]> {
    const r = await this.query(
      'SELECT kid, created_at, private_key_pem, public_jwk FROM contract_keys ORDER BY created_at, kid',
      [],
    );
    return r.rows.map((row) => ({
      kid: row.kid as string,
      createdAt: Number(row.created_at),
      privateKeyPem: row.private_key_pem as string,
      publicJwk: row.public_jwk as string,
    }));
  }

  async addKey(key: StoredKey): Promise<void> {
    await this.query(
      `INSERT INTO contract_keys (kid, created_at, private_key_pem, public_jwk)
       VALUES ($1, $2, $3, $4) ON CONFLICT (kid) DO NOTHING`,
      [key.kid, key.createdAt, key.privateKeyPem, key.publicJwk],
    );
  }

  async transaction(id: string): Promise<SharedTransaction | undefined> {
    const r = await this.query(
      `SELECT ${TRANSACTION_COLUMNS} FROM transactions WHERE transaction_id = $1`,
      [id],
    );
    return r.rows[0] ? toTransaction(r.rows[0]) : undefined;
  }

  async contract(id: string): Promise<StoredContract | undefined> {
    const r = await this.query(`SELECT ${CONTRACT_COLUMNS} FROM contracts WHERE contract_id = $1`, [
      id,
    ]);
    return r.rows[0] ? toContract(r.rows[0]) : undefined;
  }

  async contractByTransaction(transactionId: string): Promise<StoredContract | undefined> {
    const r = await this.query(
      `SELECT ${CONTRACT_COLUMNS} FROM contracts WHERE transaction_id = $1`,
      [transactionId],
    );
    return r.rows[0] ? toContract(r.rows[0]) : undefined;
  }

  async contractsOf(nodeId: string): Promise<StoredContract[]> {
    const r = await this.query(
      `SELECT ${CONTRACT_COLUMNS} FROM contracts WHERE buyer_id = $1 OR seller_id = $1
        ORDER BY created_at DESC, contract_id`,
      [nodeId],
    );
    return r.rows.map(toContract);
  }

  async allContracts(limit: number): Promise<StoredContract[]> {
    const r = await this.query(
      `SELECT ${CONTRACT_COLUMNS} FROM contracts ORDER BY created_at DESC, contract_id LIMIT $1`,
      [limit],
    );
    return r.rows.map(toContract);
  }

  async listen(wakeups: Wakeups): Promise<void> {
    if (this.wakeups) return;
    this.wakeups = wakeups;
    await this.connectListener();
    this.tick = setInterval(() => void this.onTick(), this.tickMs);
    this.tick.unref();
  }

  private async connectListener(): Promise<void> {
    if (this.closed) return;
    const c = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5000 });
    const lost = (): void => this.listenerLost(c);
    c.on('error', lost);
    c.on('end', lost);
    c.on('notification', (n) => {
      if (n.channel === 'rear_events') this.wakeups?.events(Number(n.payload));
      else if (n.channel === 'rear_line' && n.payload === this.instanceId) this.wakeups?.line();
    });
    try {
      await c.connect();
      await c.query('LISTEN rear_events');
      await c.query('LISTEN rear_line');
      await c.query(
        `INSERT INTO instances (instance_id, pid, backend_start, seen_at)
         SELECT $1, pid, backend_start, $2 FROM pg_stat_activity WHERE pid = pg_backend_pid()
         ON CONFLICT (instance_id) DO UPDATE SET pid = excluded.pid,
           backend_start = excluded.backend_start, seen_at = excluded.seen_at`,
        [this.instanceId, this.options.clock.now()],
      );
    } catch {
      this.listenerLost(c);
      return;
    }
    if (this.closed) {
      await c.end().catch(() => {});
      return;
    }
    this.listener = c;
    this.backoffMs = 100;
    this.setUp(true);
    // Whatever was committed while the listener was away is read now.
    this.wakeups?.events(undefined);
    this.wakeups?.line();
    await this.bid();
  }

  private listenerLost(c: pg.Client): void {
    c.removeAllListeners('notification');
    c.end().catch(() => {});
    if (this.listener !== undefined && this.listener !== c) return;
    const wasListening = this.listener === c;
    this.listener = undefined;
    if (this.leading) {
      this.leading = false;
      this.wakeups?.leader(false);
    }
    this.setUp(false);
    if (this.closed || this.reconnect) return;
    const delay = wasListening ? 0 : this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 2000);
    this.reconnect = setTimeout(() => {
      this.reconnect = undefined;
      void this.connectListener();
    }, delay);
    this.reconnect.unref();
  }

  private setUp(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    this.wakeups?.health(up);
  }

  /** Ping and heartbeat on the listener (a dead server is noticed here); bid to lead. */
  private async onTick(): Promise<void> {
    const c = this.listener;
    if (!c) return;
    try {
      await prepared(c, 'UPDATE instances SET seen_at = $2 WHERE instance_id = $1', [
        this.instanceId,
        this.options.clock.now(),
      ]);
      await this.bid();
    } catch {
      this.listenerLost(c);
    }
  }

  private async bid(): Promise<void> {
    const c = this.listener;
    if (!c || this.leading) return;
    const r = await c.query('SELECT pg_try_advisory_lock($1) AS got', [LEADER_LOCK]);
    if (r.rows[0].got === true && this.listener === c && !this.closed) {
      this.leading = true;
      this.wakeups?.leader(true);
    }
  }

  private async query(sql: string, params: unknown[]): Promise<pg.QueryResult<Row>> {
    return this.withClient((c) => prepared<Row>(c, sql, params));
  }

  /** Runs fn on a pooled connection; failures to reach the database become UNAVAILABLE. */
  private async withClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.closed) throw unavailable();
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch {
      throw unavailable();
    }
    try {
      const out = await fn(c);
      c.release();
      return out;
    } catch (err) {
      if (isConnectionError(err)) {
        // A broken connection is not put back in the pool.
        c.release(err as Error);
        throw unavailable();
      }
      c.release();
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.tick) clearInterval(this.tick);
    if (this.reconnect) clearTimeout(this.reconnect);
    const c = this.listener;
    this.listener = undefined;
    if (c) {
      c.removeAllListeners();
      c.on('error', () => {});
      await c
        .query('DELETE FROM instances WHERE instance_id = $1', [this.instanceId])
        .catch(() => {});
      await c.end().catch(() => {});
    }
    await this.pool.end().catch(() => {});
  }
}

/**
 * BEGIN, the flavor's row lock, and its holds, line and transaction read by a statement of its
 * own, after the lock (READ COMMITTED gives each statement a fresh snapshot, so the read sees
 * what the previous holder committed), pipelined. Without a flavor id the transaction names
 * the flavor (its flavor never changes, so a subquery's snapshot is never stale for it).
 * Exported for P9's floor, which runs exactly these statements.
 */
export function lockSteps(target: Target): Step[] {
  const byTx = target.flavorId === undefined && target.transactionId !== undefined;
  const flavorIs =
    'coalesce($1::text, (SELECT flavor_id FROM transactions WHERE transaction_id = $2))';
  const steps: Step[] = [{ text: 'BEGIN' }];
  if (target.flavorId !== undefined || byTx) {
    steps.push({
      text: `SELECT ${FLAVOR_COLUMNS} FROM flavors WHERE flavor_id = ${byTx ? '(SELECT flavor_id FROM transactions WHERE transaction_id = $1)' : '$1'} FOR UPDATE`,
      values: [byTx ? target.transactionId : target.flavorId],
    });
  }
  steps.push({
    text: `SELECT
       (SELECT coalesce(json_agg(t), '[]') FROM transactions t
          WHERE t.flavor_id = ${flavorIs} AND t.status = 'reserved') AS holds,
       (SELECT coalesce(json_agg(w ORDER BY w.line_pos), '[]') FROM waiters w
          WHERE w.flavor_id = ${flavorIs}) AS waiters,
       (SELECT row_to_json(t) FROM transactions t WHERE t.transaction_id = $2) AS tx`,
    values: [target.flavorId ?? null, target.transactionId ?? null],
  });
  return steps;
}

/**
 * A change's writes, then COMMIT, pipelined. The rows of distinct tables, the seq counter, the
 * events and their NOTIFY are one statement (rowsAndEvents); what may touch a row written in
 * the same change (settling and removing waiters) follows in statements of their own, which see
 * it. Exported for P9's floor, which runs exactly these statements.
 */
export function commitSteps(change: SharedChange | undefined): Step[] {
  const steps: Step[] = [];
  const write = change && rowsAndEvents(change);
  if (write) steps.push(write);
  if (change?.settleWaiters?.length) {
    // A settled waiter's instance is woken to collect it (delivered at COMMIT).
    steps.push({
      text: `WITH s AS (
         UPDATE waiters w SET outcome = s.outcome, transaction_id = s.transaction_id
           FROM json_populate_recordset(null::waiters, $1) s
          WHERE w.waiter_id = s.waiter_id
          RETURNING w.instance_id)
       SELECT pg_notify('rear_line', i) FROM (SELECT DISTINCT instance_id AS i FROM s) x`,
      values: [
        JSON.stringify(
          change.settleWaiters.map((s) => ({
            waiter_id: s.waiterId,
            outcome: s.outcome,
            transaction_id: s.transactionId ?? null,
          })),
        ),
      ],
    });
  }
  if (change?.removeWaiters?.length) {
    steps.push({
      text: 'DELETE FROM waiters WHERE waiter_id = ANY($1)',
      values: [change.removeWaiters],
    });
  }
  if (change?.pruneEventsThrough !== undefined) {
    steps.push({ text: 'DELETE FROM events WHERE seq <= $1', values: [change.pruneEventsThrough] });
  }
  steps.push({ text: 'COMMIT' });
  return steps;
}

/**
 * The change's rows, one table each (they never share a row, so the statement's one snapshot
 * hides nothing from them), and its events: the seq counter row hands them their seqs and stays
 * locked to COMMIT, so seq order is commit order; each event's wire gets its seq here
 * (UnnumberedEvent), and the NOTIFY carries the last one. One statement, its parts
 * data-modifying CTEs; undefined when the change writes none of them.
 */
function rowsAndEvents(change: SharedChange): Step | undefined {
  /** The statement's CTEs, each named. */
  const parts: string[] = [];
  const values: unknown[] = [];
  const add = (table: Table, rows: Row[] | undefined, onConflict?: string) => {
    if (!rows?.length) return;
    values.push(JSON.stringify(rows));
    parts.push(`new_${table} AS (${insertInto(table, rows, `$${values.length}`, onConflict)})`);
  };
  add(
    'flavors',
    change.flavors?.map(flavorRow),
    `ON CONFLICT (flavor_id) DO UPDATE SET provider_id = excluded.provider_id,
       status = excluded.status, json = excluded.json, summary = excluded.summary,
       expires_at = excluded.expires_at, auto_renew = excluded.auto_renew,
       ttl_seconds = excluded.ttl_seconds, due_at = excluded.due_at`,
  );
  // A later status never overwrites the dialect or hold key a hold was made with.
  add(
    'transactions',
    change.transactions?.map(transactionRow),
    `ON CONFLICT (transaction_id) DO UPDATE SET status = excluded.status,
       expires_at = excluded.expires_at, json = excluded.json`,
  );
  add('contracts', change.contracts?.map(contractRow));
  add('waiters', change.addWaiters?.map(waiterRow));
  const events = change.events ?? [];
  if (events.length > 0) {
    values.push(events.length, JSON.stringify(events.map(unnumberedRow)));
    const n = `$${values.length - 1}::bigint`;
    const first = `s.last_seq - ${n} + 1 + e.i`;
    parts.push(
      `s AS (UPDATE seq_counter SET last_seq = last_seq + ${n} WHERE id = 1 RETURNING last_seq)`,
      `new_events AS (INSERT INTO events (seq, at, flavor_id, wire, prev, buyer_id)
         SELECT ${first}, e.at, e.flavor_id,
                CASE WHEN e.after IS NULL THEN e.before ELSE e.before || (${first}) || e.after END,
                e.prev, e.buyer_id
           FROM s, json_to_recordset($${values.length})
             AS e(i bigint, at bigint, flavor_id text, before text, after text, prev text, buyer_id text))`,
    );
  }
  if (parts.length === 0) return undefined;
  return {
    text: `WITH ${parts.join(',\n')}
      SELECT ${events.length > 0 ? "last_seq, pg_notify('rear_events', last_seq::text) FROM s" : '0 AS last_seq'}`,
    values,
  };
}

type Table = 'flavors' | 'transactions' | 'contracts' | 'waiters';

/**
 * An INSERT of many rows: they travel as one JSON array (the parameter `param`) that
 * json_populate_recordset spreads over the table's own column types. Every row comes from one
 * mapper below, so the first row's keys are the columns (constant names, never client input).
 */
function insertInto(table: Table, rows: Row[], param: string, onConflict = ''): string {
  const columns = Object.keys(rows[0] as Row).join(', ');
  return `INSERT INTO ${table} (${columns}) SELECT ${columns}
       FROM json_populate_recordset(null::${table}, ${param}) ${onConflict}`;
}

/** Carries the domain's own decision (an error it threw under the lock) past the retry loop. */
class Decided {
  constructor(readonly cause: unknown) {}
}

function unavailable(): HubError {
  return new HubError('UNAVAILABLE', 'The market store cannot be reached; try again', {
    'Retry-After': '1',
  });
}

/** Errors that mean the database could not be reached (as opposed to one it raised). */
function isConnectionError(err: unknown): boolean {
  if (err instanceof HubError) return err.code === 'UNAVAILABLE';
  const e = err as { code?: string; severity?: string; message?: string };
  if (typeof e.code === 'string' && /^(08|57P|53)/.test(e.code)) return true;
  // Node's socket errors (ECONNREFUSED, ECONNRESET, EPIPE) and pg's own "Connection
  // terminated" carry no SQLSTATE severity.
  return e.severity === undefined;
}

function flavorRow(f: SharedFlavor): Row {
  return {
    flavor_id: f.flavorId,
    provider_id: f.providerId,
    status: f.status,
    json: f.json,
    summary: f.summary ?? null,
    expires_at: f.expiresAt,
    auto_renew: f.autoRenew,
    ttl_seconds: f.ttlSeconds,
    due_at: f.status === 'live' ? (f.dueAt ?? f.expiresAt) : null,
  };
}

function transactionRow(t: SharedTransaction): Row {
  return {
    transaction_id: t.transactionId,
    flavor_id: t.flavorId,
    buyer_id: t.buyerId,
    status: t.status,
    expires_at: t.expiresAt,
    json: t.json,
    hold_key: t.holdKey ?? null,
    dialect: t.dialect ?? null,
  };
}

function contractRow(c: StoredContract): Row {
  return {
    contract_id: c.contractId,
    transaction_id: c.transactionId,
    buyer_id: c.buyerId,
    seller_id: c.sellerId,
    created_at: c.createdAt,
    json: c.json,
  };
}

function waiterRow(w: Omit<StoredWaiter, 'linePos'>): Row {
  return {
    waiter_id: w.waiterId,
    flavor_id: w.flavorId,
    instance_id: w.instanceId,
    hold_key: w.holdKey,
    buyer: w.buyer,
    configuration: w.configuration,
    dialect: w.dialect ?? null,
  };
}

function unnumberedRow(e: UnnumberedEvent, i: number): Row {
  return {
    i,
    at: e.at,
    flavor_id: e.flavorId,
    before: e.before,
    after: e.after ?? null,
    prev: e.prev ?? null,
    buyer_id: e.buyerId ?? null,
  };
}

/** A flavors row as the store reads it (and P9's floor its sample). */
export function toFlavor(r: Row): SharedFlavor {
  const f: SharedFlavor = {
    flavorId: r.flavor_id as string,
    providerId: r.provider_id as string,
    status: r.status as SharedFlavor['status'],
    json: r.json as string,
    expiresAt: Number(r.expires_at),
    autoRenew: r.auto_renew === true,
    ttlSeconds: Number(r.ttl_seconds),
  };
  if (typeof r.summary === 'string') f.summary = r.summary;
  return f;
}

/** A transaction row with the shared market's hold key (the line's idempotency key). */
/** A transactions row as the store reads it (and P9's floor its sample). */
export function toTransaction(r: Row): SharedTransaction {
  const t: SharedTransaction = toStoredTransaction(r);
  if (typeof r.hold_key === 'string') t.holdKey = r.hold_key;
  return t;
}

function toWaiter(r: Row): StoredWaiter {
  return {
    waiterId: r.waiter_id as string,
    flavorId: r.flavor_id as string,
    instanceId: r.instance_id as string,
    holdKey: r.hold_key as string,
    buyer: r.buyer as string,
    configuration: (r.configuration as string | null) ?? null,
    linePos: Number(r.line_pos),
    outcome: (r.outcome as StoredWaiter['outcome']) ?? null,
    transactionId: (r.transaction_id as string | null) ?? null,
    ...(r.dialect === 'fluidos' ? { dialect: 'fluidos' as const } : {}),
  };
}
