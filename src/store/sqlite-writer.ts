/**
 * The SQLite writer thread: applies batches of changes and fsyncs them off the event loop,
 * so the hub keeps serving while a commit reaches the disk. Replies to each batch, in order,
 * with one outcome per change (null, or the error message).
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { configure, openWriter } from './sqlite-writes.js';
import type { Change } from './store.js';

const db = new Database((workerData as { path: string }).path);
configure(db);
const write = openWriter(db);

parentPort?.on('message', (msg: { id: number; changes: Change[] } | { close: true }) => {
  if ('close' in msg) {
    db.close();
    parentPort?.postMessage({ closed: true });
    return;
  }
  try {
    parentPort?.postMessage({ id: msg.id, outcomes: write(msg.changes) });
  } catch (err) {
    parentPort?.postMessage({
      id: msg.id,
      error: err instanceof Error ? err.message : String(err),
    });
  }
});
