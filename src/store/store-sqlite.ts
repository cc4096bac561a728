/**
 * The embedded store: one SQLite file in WAL mode with synchronous=FULL, so a commit is on
 * disk when it returns. Commits queued in the same event-loop turn share one transaction and
 * one fsync (group commit): each is wrapped in its own SAVEPOINT, so one failing change rolls
 * back alone and the others still commit.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type {
  Change,
  Loaded,
  Store,
  StoredContract,
  StoredEvent,
  StoredFlavor,
  StoredTransaction,
} from './store.js';
import { MIGRATIONS } from './sqlite-migrations.js';

interface Pending {
  change: Change;
  resolve: () => void;
  reject: (err: unknown) => void;
}

type Row = Record<string, unknown>;

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private pending: Pending[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly stmt;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    const db = this.db;
    this.stmt = {
      upsertFlavor: db.prepare(
        `INSERT INTO flavors (flavor_id, provider_id, status, json, expires_at, auto_renew, ttl_seconds)
         VALUES (@flavorId, @providerId, @status, @json, @expiresAt, @autoRenew, @ttlSeconds)
         ON CONFLICT(flavor_id) DO UPDATE SET provider_id = excluded.provider_id, status = excluded.status,
           json = excluded.json, expires_at = excluded.expires_at, auto_renew = excluded.auto_renew,
           ttl_seconds = excluded.ttl_seconds`,
      ),
      upsertTransaction: db.prepare(
        `INSERT INTO transactions (transaction_id, flavor_id, buyer_id, status, expires_at, json)
         VALUES (@transactionId, @flavorId, @buyerId, @status, @expiresAt, @json)
         ON CONFLICT(transaction_id) DO UPDATE SET status = excluded.status, expires_at = excluded.expires_at,
           json = excluded.json`,
      ),
      insertContract: db.prepare(
        `INSERT INTO contracts (contract_id, transaction_id, buyer_id, seller_id, created_at, json)
         VALUES (@contractId, @transactionId, @buyerId, @sellerId, @createdAt, @json)`,
      ),
      insertEvent: db.prepare(
        `INSERT INTO events (seq, at, flavor_id, wire, prev, buyer_id) VALUES (@seq, @at, @flavorId, @wire, @prev, @buyerId)`,
      ),
      setLastSeq: db.prepare(`UPDATE meta SET value = MAX(value, ?) WHERE key = 'last_seq'`),
      prune: db.prepare(`DELETE FROM events WHERE seq <= ?`),
      liveFlavors: db.prepare(`SELECT * FROM flavors WHERE status = 'live'`),
      openTransactions: db.prepare(`SELECT * FROM transactions WHERE status = 'reserved'`),
      events: db.prepare(`SELECT * FROM events ORDER BY seq`),
      lastSeq: db.prepare(`SELECT value FROM meta WHERE key = 'last_seq'`),
      transaction: db.prepare(`SELECT * FROM transactions WHERE transaction_id = ?`),
      contract: db.prepare(`SELECT * FROM contracts WHERE contract_id = ?`),
      contractByTx: db.prepare(`SELECT * FROM contracts WHERE transaction_id = ?`),
      contractsOf: db.prepare(
        `SELECT * FROM contracts WHERE buyer_id = ? OR seller_id = ? ORDER BY created_at DESC, contract_id`,
      ),
      allContracts: db.prepare(
        `SELECT * FROM contracts ORDER BY created_at DESC, contract_id LIMIT ?`,
      ),
    };
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = this.db.prepare('SELECT version FROM schema_version').get() as
      { version: number } | undefined;
    let version = row?.version ?? 0;
    if (!row) this.db.prepare('INSERT INTO schema_version (version) VALUES (0)').run();
    for (const [i, sql] of MIGRATIONS.entries()) {
      if (i < version) continue;
      this.db.transaction(() => {
        this.db.exec(sql);
        this.db.prepare('UPDATE schema_version SET version = ?').run(i + 1);
      })();
      version = i + 1;
    }
  }

  async load(): Promise<Loaded> {
    return {
      flavors: (this.stmt.liveFlavors.all() as Row[]).map(toFlavor),
      openTransactions: (this.stmt.openTransactions.all() as Row[]).map(toTransaction),
      events: (this.stmt.events.all() as Row[]).map(toEvent),
      lastSeq: Number((this.stmt.lastSeq.get() as Row).value),
    };
  }

  commit(change: Change): Promise<void> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ change, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const outcomes: Array<unknown | undefined> = [];
    try {
      this.db.transaction(() => {
        for (const [i, p] of batch.entries()) {
          const sp = `c${i}`;
          this.db.exec(`SAVEPOINT ${sp}`);
          try {
            this.apply(p.change);
            this.db.exec(`RELEASE ${sp}`);
            outcomes.push(undefined);
          } catch (err) {
            this.db.exec(`ROLLBACK TO ${sp}`);
            this.db.exec(`RELEASE ${sp}`);
            outcomes.push(err ?? new Error('commit failed'));
          }
        }
      })();
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    for (const [i, p] of batch.entries()) {
      const err = outcomes[i];
      if (err === undefined) p.resolve();
      else p.reject(err);
    }
  }

  private apply(change: Change): void {
    for (const f of change.flavors ?? [])
      this.stmt.upsertFlavor.run({ ...f, autoRenew: f.autoRenew ? 1 : 0 });
    for (const t of change.transactions ?? []) this.stmt.upsertTransaction.run(t);
    for (const c of change.contracts ?? []) this.stmt.insertContract.run(c);
    let maxSeq = 0;
    for (const e of change.events ?? []) {
      this.stmt.insertEvent.run({ prev: null, buyerId: null, ...e });
      if (e.seq > maxSeq) maxSeq = e.seq;
    }
    if (maxSeq > 0) this.stmt.setLastSeq.run(maxSeq);
    if (change.pruneEventsThrough !== undefined) this.stmt.prune.run(change.pruneEventsThrough);
  }

  async transaction(id: string): Promise<StoredTransaction | undefined> {
    const row = this.stmt.transaction.get(id) as Row | undefined;
    return row && toTransaction(row);
  }

  async contract(id: string): Promise<StoredContract | undefined> {
    const row = this.stmt.contract.get(id) as Row | undefined;
    return row && toContract(row);
  }

  async contractByTransaction(transactionId: string): Promise<StoredContract | undefined> {
    const row = this.stmt.contractByTx.get(transactionId) as Row | undefined;
    return row && toContract(row);
  }

  async contractsOf(nodeId: string): Promise<StoredContract[]> {
    return (this.stmt.contractsOf.all(nodeId, nodeId) as Row[]).map(toContract);
  }

  async allContracts(limit: number): Promise<StoredContract[]> {
    return (this.stmt.allContracts.all(limit) as Row[]).map(toContract);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }
}

function toFlavor(r: Row): StoredFlavor {
  return {
    flavorId: r.flavor_id as string,
    providerId: r.provider_id as string,
    status: r.status as StoredFlavor['status'],
    json: r.json as string,
    expiresAt: Number(r.expires_at),
    autoRenew: r.auto_renew === 1,
    ttlSeconds: Number(r.ttl_seconds),
  };
}

function toTransaction(r: Row): StoredTransaction {
  return {
    transactionId: r.transaction_id as string,
    flavorId: r.flavor_id as string,
    buyerId: r.buyer_id as string,
    status: r.status as StoredTransaction['status'],
    expiresAt: Number(r.expires_at),
    json: r.json as string,
  };
}

function toContract(r: Row): StoredContract {
  return {
    contractId: r.contract_id as string,
    transactionId: r.transaction_id as string,
    buyerId: r.buyer_id as string,
    sellerId: r.seller_id as string,
    createdAt: Number(r.created_at),
    json: r.json as string,
  };
}

function toEvent(r: Row): StoredEvent {
  const e: StoredEvent = {
    seq: Number(r.seq),
    at: Number(r.at),
    flavorId: r.flavor_id as string,
    wire: r.wire as string,
  };
  if (r.prev !== null) e.prev = r.prev as string;
  if (r.buyer_id !== null) e.buyerId = r.buyer_id as string;
  return e;
}
