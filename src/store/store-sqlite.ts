/**
 * The embedded store: one SQLite file in WAL mode with synchronous=FULL, so a change is on
 * disk when its commit resolves. Writes run on a writer thread (sqlite-writer.ts): commits
 * go to it in batches (an event-loop turn's worth, or all that queued while it was busy), and
 * batches that reach it while it is writing share its next transaction and fsync (group
 * commit), yet each change stays all-or-nothing on its own (sqlite-writes.ts); the event loop
 * never waits for the disk. Reads use a connection of their own on the main thread and see
 * every commit that has resolved. A start's snapshot is read by the writer thread too, and
 * handed over a chunk at a time (sqlite-load.ts). A ':memory:' database cannot be shared
 * between threads, so it is written and loaded inline.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { startThread } from '../threads.js';
import { cutFlavors, prepareLoad, readSnapshot, type SnapshotHead } from './sqlite-load.js';
import { MIGRATIONS } from './sqlite-migrations.js';
import { configure, openWriter, type Outcome } from './sqlite-writes.js';
import { toContract, toEvent, toTransaction, type Row } from './rows.js';
import type {
  Change,
  EventTime,
  Loaded,
  Store,
  StoredContract,
  StoredEvent,
  LoadedFlavor,
  StoredKey,
  StoredTransaction,
  StoreObserver,
  StoreOptions,
} from './store.js';

interface Pending {
  change: Change;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The writer thread's answer to one batch (a transaction's first answer carries its timing), or
 * a part of a load's answer: its chunks of flavors, then the rest of the snapshot or an error.
 */
interface WriterReply {
  id?: number;
  outcomes?: Outcome[];
  error?: string;
  seconds?: number;
  size?: number;
  chunk?: ArrayBuffer;
  ascii?: boolean;
  jsons?: ArrayBuffer;
  loaded?: SnapshotHead;
  loadError?: string;
}

/** A load the writer thread is answering; the first error met cutting its chunks, if any. */
interface PendingLoad {
  /** Undefined for the snapshot read at open until a load takes it (its replies are kept). */
  each: ((flavor: LoadedFlavor) => void) | undefined;
  kept: WriterReply[];
  resolve: (head: SnapshotHead) => void;
  reject: (err: unknown) => void;
  failed?: unknown;
}

/** Batches with the writer at once: one being written and the next one. */
const MAX_IN_FLIGHT = 2;

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly worker: Worker | undefined;
  private readonly writeInline: ((changes: Change[]) => Outcome[]) | undefined;
  private queue: Pending[] = [];
  /** Batches sent to the writer, by id, answered in order. */
  private readonly inFlight = new Map<number, Pending[]>();
  private flushScheduled = false;
  private closed = false;
  private batchId = 0;
  private drained: (() => void) | undefined;
  /** Loads sent to the writer thread, answered in order. */
  private readonly loads: PendingLoad[] = [];
  private loadsDone: (() => void) | undefined;
  /**
   * The snapshot the writer thread reads as soon as it starts, for the first load: a start's
   * read then runs while the rest of the hub is set up instead of after. Dropped (its replies
   * ignored) once a commit is sent before a load takes it, since it no longer shows the store.
   */
  private prefetch: { load: PendingLoad; stale: boolean } | undefined;
  private readonly stmt;
  private readonly observer: StoreObserver | undefined;
  /** The writer thread has exited (a crash; or closed): close() must not wait for it. */
  private writerGone = false;
  /** close() has asked the writer thread to end. */
  private closeSent = false;

  constructor(path: string, options: StoreOptions = {}) {
    this.observer = options.observer;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    configure(this.db);
    this.migrate();
    if (path === ':memory:') {
      this.writeInline = openWriter(this.db);
    } else {
      this.worker = startThread(import.meta.url, 'sqlite-writer', { path });
      this.worker.on('message', (m: WriterReply) => this.settle(m));
      this.worker.on('error', (err) => this.fail(err));
      this.worker.once('exit', () => {
        this.writerGone = true;
        // Gone without being asked to close (even while close() drains it): nothing it held
        // will be answered.
        if (!this.closeSent) this.fail(writerExited());
      });
      const load: PendingLoad = { each: undefined, kept: [], resolve: noop, reject: noop };
      this.prefetch = { load, stale: false };
      this.loads.push(load);
      this.worker.postMessage({ load: true });
    }
    const db = this.db;
    this.stmt = {
      load: prepareLoad(db),
      eventsAfter: db.prepare(`SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?`),
      eventTimes: db.prepare(`SELECT seq, at FROM events WHERE seq > ? ORDER BY seq LIMIT ?`).raw(),
      transaction: db.prepare(`SELECT * FROM transactions WHERE transaction_id = ?`),
      contract: db.prepare(`SELECT * FROM contracts WHERE contract_id = ?`),
      contractByTx: db.prepare(`SELECT * FROM contracts WHERE transaction_id = ?`),
      contractsOf: db.prepare(
        `SELECT * FROM contracts WHERE buyer_id = ? OR seller_id = ? ORDER BY created_at DESC, contract_id`,
      ),
      allContracts: db.prepare(
        `SELECT * FROM contracts ORDER BY created_at DESC, contract_id LIMIT ?`,
      ),
      keys: db.prepare(`SELECT * FROM contract_keys ORDER BY created_at, kid`),
      // Keys are written on this connection, not the writer thread: rare (first start, a
      // rotation), independent of market commits, and busy_timeout waits out the writer.
      addKey: db.prepare(
        `INSERT OR IGNORE INTO contract_keys (kid, created_at, private_key_pem, public_jwk)
         VALUES (@kid, @createdAt, @privateKeyPem, @publicJwk)`,
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

  async load(each: (flavor: LoadedFlavor) => void): Promise<Loaded> {
    if (this.closed) throw new Error('store is closed');
    if (this.writerGone) throw writerExited();
    const head = this.worker
      ? await this.loadThroughWriter(this.worker, each)
      : readSnapshot(this.db, this.stmt.load, (heads, ascii, jsons) =>
          cutFlavors(heads, ascii, jsons, each),
        );
    return {
      openTransactions: head.openTransactions.map(toTransaction),
      firstSeq: head.firstSeq,
      lastSeq: head.lastSeq,
      epoch: head.epoch,
    };
  }

  /** The writer thread reads the snapshot; its chunks are cut here as they come. */
  private loadThroughWriter(
    worker: Worker,
    each: (flavor: LoadedFlavor) => void,
  ): Promise<SnapshotHead> {
    const prefetch = this.prefetch;
    this.prefetch = undefined;
    return new Promise<SnapshotHead>((resolve, reject) => {
      if (prefetch && !prefetch.stale) {
        // What was read before this load is cut now, the rest as it comes.
        const load = prefetch.load;
        Object.assign(load, { each, resolve, reject });
        for (const m of load.kept.splice(0)) this.answerLoad(load, m);
        return;
      }
      this.loads.push({ each, kept: [], resolve, reject });
      worker.ref();
      worker.postMessage({ load: true });
    });
  }

  private loadReply(m: WriterReply): void {
    const load = this.loads[0];
    if (!load) return;
    const final = m.chunk === undefined;
    if (final) {
      this.loads.shift();
      this.idle();
      if (this.loads.length === 0) this.loadsDone?.();
    }
    if (load.each !== undefined) this.answerLoad(load, m);
    else if (this.prefetch?.load === load && !this.prefetch.stale) load.kept.push(m);
    else if (final && this.prefetch?.load === load) this.prefetch = undefined;
  }

  /** One reply to a load: a chunk to cut, or its end. */
  private answerLoad(load: PendingLoad, m: WriterReply): void {
    if (m.chunk !== undefined) {
      if (load.failed !== undefined) return;
      try {
        cutFlavors(
          Buffer.from(m.chunk),
          m.ascii === true,
          Buffer.from(m.jsons as ArrayBuffer),
          load.each as (flavor: LoadedFlavor) => void,
        );
      } catch (err) {
        // The rest of the load's chunks are read and dropped; it fails once they end.
        load.failed = err;
      }
      return;
    }
    if (m.loadError !== undefined) load.reject(new Error(m.loadError));
    else if (load.failed !== undefined) load.reject(load.failed);
    else load.resolve(m.loaded as SnapshotHead);
  }

  /** An idle writer does not keep the process alive. */
  private idle(): void {
    if (this.inFlight.size === 0 && this.loads.length === 0) this.worker?.unref();
  }

  async eventsAfter(after: number, limit: number): Promise<StoredEvent[]> {
    return (this.stmt.eventsAfter.all(after, limit) as Row[]).map(toEvent);
  }

  async eventTimes(after: number, limit: number): Promise<EventTime[]> {
    return (this.stmt.eventTimes.all(after, limit) as number[][]).map(([seq, at]) => ({
      seq: Number(seq),
      at: Number(at),
    }));
  }

  commit(change: Change): Promise<void> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    if (this.writerGone) return Promise.reject(writerExited());
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ change, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Sends everything queued as one batch — unless two are already with the writer (one being
   * written, one waiting for it): then the queue keeps growing here and goes when one is
   * answered, so a busy writer gets few large messages instead of one per event-loop turn.
   */
  private flush(): void {
    this.flushScheduled = false;
    if (this.queue.length === 0) return;
    if (this.worker && this.inFlight.size >= MAX_IN_FLIGHT && !this.closed) return;
    const batch = this.queue;
    this.queue = [];
    const changes = batch.map((p) => p.change);
    if (this.writeInline) {
      let outcomes: Outcome[];
      const started = this.observer && process.hrtime.bigint();
      try {
        outcomes = this.writeInline(changes);
      } catch (err) {
        for (const p of batch) p.reject(err);
        return;
      }
      if (started !== undefined)
        this.observe(Number(process.hrtime.bigint() - started) / 1e9, changes.length);
      resolveAll(batch, outcomes);
      this.maybeDrained();
      return;
    }
    // The snapshot read at open no longer shows the store once this is written.
    if (this.prefetch) this.prefetch.stale = true;
    const id = ++this.batchId;
    this.inFlight.set(id, batch);
    // A write in flight keeps the process alive; an idle writer does not.
    this.worker?.ref();
    this.worker?.postMessage({ id, changes });
  }

  private observe(seconds: number, size: number): void {
    try {
      this.observer?.commit(seconds, size);
    } catch {
      // A watcher's fault must not fail a write that succeeded.
    }
  }

  private settle(m: WriterReply): void {
    if (m.chunk !== undefined || m.loaded !== undefined || m.loadError !== undefined) {
      this.loadReply(m);
      return;
    }
    const batch = m.id === undefined ? undefined : this.inFlight.get(m.id);
    if (!batch) return;
    if (m.seconds !== undefined) this.observe(m.seconds, m.size ?? batch.length);
    this.inFlight.delete(m.id as number);
    if (m.error !== undefined) for (const p of batch) p.reject(new Error(m.error));
    else resolveAll(batch, m.outcomes ?? []);
    this.idle();
    this.flush();
    this.maybeDrained();
  }

  private fail(err: unknown): void {
    for (const p of [...[...this.inFlight.values()].flat(), ...this.queue]) p.reject(err);
    this.inFlight.clear();
    this.queue = [];
    for (const load of this.loads.splice(0)) load.reject(err);
    // A load that takes the snapshot read at open fails the same way.
    this.prefetch?.load.kept.push({ loadError: err instanceof Error ? err.message : String(err) });
    this.loadsDone?.();
    this.maybeDrained();
  }

  private maybeDrained(): void {
    if (this.inFlight.size === 0 && this.queue.length === 0) this.drained?.();
  }

  healthy(): boolean {
    return true;
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

  async keys(): Promise<StoredKey[]> {
    return (this.stmt.keys.all() as Row[]).map((r) => ({
      kid: r.kid as string,
      createdAt: Number(r.created_at),
      privateKeyPem: r.private_key_pem as string,
      publicJwk: r.public_jwk as string,
    }));
  }

  async addKey(key: StoredKey): Promise<void> {
    if (this.closed) throw new Error('store is closed');
    this.stmt.addKey.run(key);
  }

  /** Writes what is queued, stops the writer and closes both connections; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.queue.length > 0 || this.inFlight.size > 0) {
      this.worker?.ref();
      const done = new Promise<void>((r) => (this.drained = r));
      this.flush();
      await done;
    }
    if (this.loads.length > 0) await new Promise<void>((r) => (this.loadsDone = r));
    if (this.worker && !this.writerGone) {
      const worker = this.worker;
      worker.ref();
      await new Promise<void>((resolve) => {
        worker.once('message', () => resolve());
        worker.once('exit', () => resolve());
        this.closeSent = true;
        worker.postMessage({ close: true });
      });
      await worker.terminate();
    }
    this.db.close();
  }
}

function resolveAll(batch: Pending[], outcomes: Outcome[]): void {
  for (const [i, p] of batch.entries()) {
    const err = outcomes[i];
    if (err === null || err === undefined) p.resolve();
    else p.reject(new Error(err));
  }
}

function noop(): void {}

/** What every commit or load fails with once the writer thread is gone without a close. */
function writerExited(): Error {
  return new Error('the SQLite writer thread exited');
}
