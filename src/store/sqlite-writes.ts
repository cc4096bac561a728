/**
 * The write side of the SQLite store: prepared statements and how a batch of changes is
 * applied — one transaction, one fsync, each change in its own savepoint so a failing one
 * rolls back alone. Used in the writer thread (sqlite-writer.ts), or inline for ':memory:'.
 */
import type Database from 'better-sqlite3';
import type { Change } from './store.js';

export type Outcome = string | null;

export function openWriter(db: Database.Database): (changes: Change[]) => Outcome[] {
  const stmt = {
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
  };

  const apply = (change: Change): void => {
    for (const f of change.flavors ?? [])
      stmt.upsertFlavor.run({ ...f, autoRenew: f.autoRenew ? 1 : 0 });
    for (const t of change.transactions ?? []) stmt.upsertTransaction.run(t);
    for (const c of change.contracts ?? []) stmt.insertContract.run(c);
    let maxSeq = 0;
    for (const e of change.events ?? []) {
      stmt.insertEvent.run({ prev: null, buyerId: null, ...e });
      if (e.seq > maxSeq) maxSeq = e.seq;
    }
    if (maxSeq > 0) stmt.setLastSeq.run(maxSeq);
    if (change.pruneEventsThrough !== undefined) stmt.prune.run(change.pruneEventsThrough);
  };

  return (changes) => {
    const outcomes: Outcome[] = [];
    db.transaction(() => {
      for (const [i, change] of changes.entries()) {
        db.exec(`SAVEPOINT c${i}`);
        try {
          apply(change);
          db.exec(`RELEASE c${i}`);
          outcomes.push(null);
        } catch (err) {
          db.exec(`ROLLBACK TO c${i}`);
          db.exec(`RELEASE c${i}`);
          outcomes.push(err instanceof Error ? err.message : String(err));
        }
      }
    })();
    return outcomes;
  };
}

/** Connection settings every connection of the store uses. */
export function configure(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
}
