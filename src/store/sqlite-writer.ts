/**
 * The SQLite writer thread: applies batches of changes and fsyncs them off the event loop,
 * so the hub keeps serving while a commit reaches the disk. Batches that arrive while it is
 * writing are merged into its next transaction (one fsync for all of them); it replies to
 * each batch, in order, with one outcome per change (null, or the error message).
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { configure, openWriter } from './sqlite-writes.js';
import type { Change } from './store.js';

type Message = { id: number; changes: Change[] } | { close: true };

const db = new Database((workerData as { path: string }).path);
configure(db);
const write = openWriter(db);
const port = parentPort;

port?.on('message', (first: Message) => {
  const batches: Array<{ id: number; changes: Change[] }> = [];
  let closing = false;
  for (let msg: Message | undefined = first; msg;) {
    if ('close' in msg) closing = true;
    else batches.push(msg);
    msg = (port && (receiveMessageOnPort(port)?.message as Message | undefined)) ?? undefined;
  }
  if (batches.length > 0) {
    try {
      const changes = batches.flatMap((b) => b.changes);
      const started = process.hrtime.bigint();
      const outcomes = write(changes);
      // The transaction's time and size travel with its first answer only: one per transaction.
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      let at = 0;
      for (const [i, b] of batches.entries()) {
        port?.postMessage({
          id: b.id,
          outcomes: outcomes.slice(at, at + b.changes.length),
          ...(i === 0 ? { seconds, size: changes.length } : {}),
        });
        at += b.changes.length;
      }
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      for (const b of batches) port?.postMessage({ id: b.id, error });
    }
  }
  if (closing) {
    db.close();
    port?.postMessage({ closed: true });
  }
});
