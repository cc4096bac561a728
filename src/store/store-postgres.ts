/**
 * The PostgreSQL store (shared-store.ts says what it promises): any number of hub processes
 * on one database are one market.
 *
 * - Writes: `atomically` takes the flavor's row lock (SELECT … FOR UPDATE) in a statement of its
 *   own, then reads the flavor's holds and line in the next statement (READ COMMITTED gives each
 *   statement a fresh snapshot, so that read sees everything the previous lock holder
 *   committed), lets the domain decide, and writes the outcome in the same transaction. The
 *   events come last: one counter row hands out their seqs just before COMMIT, so seq order is
 *   commit order (the scheme of Commanded's EventStore; a bare sequence would hand out numbers
 *   out of commit order and a reader of `seq > cursor` could skip one).
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
import { prepared } from './pg-prepared.js';
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

  async atomically<T>(
    target: Target,
    fn: (locked: LockedFlavor) => Outcome<T>,
  ): Promise<{ result: T; lastSeq: number }> {
    return this.withClient(async (c) => {
      for (let attempt = 0; ; attempt++) {
        const started = performance.now();
        try {
          await c.query('BEGIN');
          const locked = await this.lock(c, target);
          let outcome: Outcome<T>;
          try {
            outcome = fn(locked);
          } catch (err) {
            await c.query('ROLLBACK');
            throw new Decided(err);
          }
          const lastSeq = outcome.change ? await this.write(c, outcome.change) : 0;
          await c.query('COMMIT');
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

  private async lock(c: pg.PoolClient, target: Target): Promise<LockedFlavor> {
    let flavorId = target.flavorId;
    if (flavorId === undefined && target.transactionId !== undefined) {
      const r = await prepared(c, 'SELECT flavor_id FROM transactions WHERE transaction_id = $1', [
        target.transactionId,
      ]);
      flavorId = r.rows[0]?.flavor_id as string | undefined;
    }
    const locked: LockedFlavor = {
      flavor: undefined,
      holds: [],
      waiters: [],
      transaction: undefined,
    };
    if (flavorId !== undefined) {
      const f = await prepared(
        c,
        `SELECT ${FLAVOR_COLUMNS} FROM flavors WHERE flavor_id = $1 FOR UPDATE`,
        [flavorId],
      );
      if (f.rows[0]) locked.flavor = toFlavor(f.rows[0]);
    }
    // A statement of its own, after the lock: its snapshot holds what the last holder committed.
    const r = await prepared(
      c,
      `SELECT
         (SELECT coalesce(json_agg(t), '[]') FROM transactions t
            WHERE t.flavor_id = $1 AND t.status = 'reserved') AS holds,
         (SELECT coalesce(json_agg(w ORDER BY w.line_pos), '[]') FROM waiters w
            WHERE w.flavor_id = $1) AS waiters,
         (SELECT row_to_json(t) FROM transactions t WHERE t.transaction_id = $2) AS tx`,
      [flavorId ?? null, target.transactionId ?? null],
    );
    const row = r.rows[0] as { holds: Row[]; waiters: Row[]; tx: Row | null };
    locked.holds = row.holds.map(toTransaction);
    locked.waiters = row.waiters.map(toWaiter);
    if (row.tx) locked.transaction = toTransaction(row.tx);
    return locked;
  }

  /** Writes a change inside the open transaction; returns the highest seq it wrote (0: none). */
  private async write(c: pg.PoolClient, change: SharedChange): Promise<number> {
    if (change.flavors?.length) {
      await insertRows(
        c,
        'flavors',
        change.flavors.map(flavorRow),
        `ON CONFLICT (flavor_id) DO UPDATE SET provider_id = excluded.provider_id,
           status = excluded.status, json = excluded.json, summary = excluded.summary,
           expires_at = excluded.expires_at, auto_renew = excluded.auto_renew,
           ttl_seconds = excluded.ttl_seconds, due_at = excluded.due_at`,
      );
    }
    if (change.transactions?.length) {
      // A later status never overwrites the dialect or hold key a hold was made with.
      await insertRows(
        c,
        'transactions',
        change.transactions.map(transactionRow),
        `ON CONFLICT (transaction_id) DO UPDATE SET status = excluded.status,
           expires_at = excluded.expires_at, json = excluded.json`,
      );
    }
    if (change.contracts?.length) {
      await insertRows(c, 'contracts', change.contracts.map(contractRow));
    }
    if (change.addWaiters?.length) {
      await insertRows(c, 'waiters', change.addWaiters.map(waiterRow));
    }
    const wake = new Set<string>();
    if (change.settleWaiters?.length) {
      const r = await prepared(
        c,
        `UPDATE waiters w SET outcome = s.outcome, transaction_id = s.transaction_id
           FROM json_populate_recordset(null::waiters, $1) s
          WHERE w.waiter_id = s.waiter_id
          RETURNING w.instance_id`,
        [
          JSON.stringify(
            change.settleWaiters.map((s) => ({
              waiter_id: s.waiterId,
              outcome: s.outcome,
              transaction_id: s.transactionId ?? null,
            })),
          ),
        ],
      );
      for (const row of r.rows) wake.add(row.instance_id as string);
    }
    if (change.removeWaiters?.length) {
      await prepared(c, 'DELETE FROM waiters WHERE waiter_id = ANY($1)', [change.removeWaiters]);
    }
    if (change.pruneEventsThrough !== undefined) {
      await prepared(c, 'DELETE FROM events WHERE seq <= $1', [change.pruneEventsThrough]);
    }
    let lastSeq = 0;
    if (change.events && change.events.count > 0) {
      // The serialized point: taken last, held until COMMIT.
      const r = await prepared(
        c,
        'UPDATE seq_counter SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq',
        [change.events.count],
      );
      lastSeq = Number((r.rows[0] as Row).last_seq);
      const events = change.events.make(lastSeq - change.events.count + 1);
      await insertRows(c, 'events', events.map(eventRow));
      await prepared(c, `SELECT pg_notify('rear_events', $1)`, [String(lastSeq)]);
    }
    if (wake.size > 0) {
      await prepared(c, `SELECT pg_notify('rear_line', x) FROM unnest($1::text[]) x`, [[...wake]]);
    }
    return lastSeq;
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
 * One INSERT of many rows: the rows travel as one JSON array that json_populate_recordset
 * spreads over the table's own column types. Every row comes from one mapper below, so the
 * first row's keys are the columns (constant names, never client input).
 */
async function insertRows(
  c: pg.PoolClient,
  table: 'flavors' | 'transactions' | 'contracts' | 'waiters' | 'events',
  rows: Row[],
  onConflict = '',
): Promise<void> {
  const columns = Object.keys(rows[0] as Row).join(', ');
  await prepared(
    c,
    `INSERT INTO ${table} (${columns}) SELECT ${columns}
       FROM json_populate_recordset(null::${table}, $1) ${onConflict}`,
    [JSON.stringify(rows)],
  );
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

function eventRow(e: StoredEvent): Row {
  return {
    seq: e.seq,
    at: e.at,
    flavor_id: e.flavorId,
    wire: e.wire,
    prev: e.prev ?? null,
    buyer_id: e.buyerId ?? null,
  };
}

function toFlavor(r: Row): SharedFlavor {
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
function toTransaction(r: Row): SharedTransaction {
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
