/**
 * The SQLite writer thread: applies batches of changes and fsyncs them off the event loop,
 * so the hub keeps serving while a commit reaches the disk. Batches that arrive while it is
 * writing are merged into its next transaction (one fsync for all of them); it replies to
 * each batch, in order, with one outcome per change (null, or the error message).
 *
 * At start it also reads the store's snapshot for the event loop (sqlite-load.ts): each chunk
 * of flavors goes over as it is read, so the event loop parses one while this reads the next.
 * A load is answered after every batch sent before it was written.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { prepareLoad, readSnapshot, type LoadStatements } from './sqlite-load.js';
import { configure, openWriter } from './sqlite-writes.js';
import type { Change } from './store.js';

type Batch = { id: number; changes: Change[] };
type Message = Batch | { load: true } | { close: true };

const db = new Database((workerData as { path: string }).path);
configure(db);
const write = openWriter(db);
const port = parentPort;
let load: LoadStatements | undefined;

port?.on('message', (first: Message) => {
  let batches: Batch[] = [];
  let closing = false;
  for (let msg: Message | undefined = first; msg;) {
    if ('close' in msg) closing = true;
    else if ('load' in msg) {
      writeAll(batches);
      batches = [];
      readForLoad();
    } else batches.push(msg);
    msg = (port && (receiveMessageOnPort(port)?.message as Message | undefined)) ?? undefined;
  }
  writeAll(batches);
  if (closing) {
    db.close();
    port?.postMessage({ closed: true });
  }
});

function writeAll(batches: Batch[]): void {
  if (batches.length === 0) return;
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

/** The bytes' own buffer, to be moved to the event loop (copied only if shared). */
function own(bytes: Buffer): ArrayBuffer {
  return (
    bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      ? bytes.buffer
      : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
  ) as ArrayBuffer;
}

/** Sends each chunk as read (its buffer moved, not copied), then the rest of the snapshot. */
function readForLoad(): void {
  try {
    load ??= prepareLoad(db);
    const head = readSnapshot(db, load, (heads, ascii, jsons) => {
      const chunk = own(heads);
      const texts = own(jsons);
      port?.postMessage({ chunk, ascii, jsons: texts }, [chunk, texts]);
    });
    port?.postMessage({ loaded: head });
  } catch (err) {
    port?.postMessage({ loadError: err instanceof Error ? err.message : String(err) });
  }
}
