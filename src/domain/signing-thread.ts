/**
 * Contracts signed off the event loop, an event-loop turn's worth at a time, on one thread of
 * the hub's own (signing-worker.ts). Signing each contract on libuv's pool cost the event loop
 * a hand-off and a wake-up per sale, and under P2's load that was a fifth of the main
 * thread's profiled time; here a turn's sales cost one message each way. Batches are signed
 * and answered in the order they are sent, so a sale's signature is ready no later than those
 * of sales signed after it (the journal keeps commits in seq order while one is pending).
 */
import type { Worker } from 'node:worker_threads';
import { startThread } from '../threads.js';
import type { SigningKey } from './jws.js';
import type { SignBatch, SignedBatch } from './signing-worker.js';

interface Waiting {
  resolve(jws: string): void;
  reject(err: Error): void;
}

export class SigningThread {
  private worker: Worker | undefined;
  /** Payloads of this turn, not yet sent, all to be signed with `queueKey`. */
  private queue: string[] = [];
  private waiting: Waiting[] = [];
  private queueKey: SigningKey | undefined;
  /** The key the thread holds (the last one sent). */
  private sentKey: SigningKey | undefined;
  private readonly inFlight = new Map<number, Waiting[]>();
  private batchId = 0;
  private scheduled = false;
  private closing = false;
  private failed: Error | undefined;

  /** The compact JWS of `payloadJson` with `signing`, made on the signing thread. */
  sign(signing: SigningKey, payloadJson: string): Promise<string> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closing) return Promise.reject(new Error('the contract signer is closed'));
    // A rotation within a turn: what was queued goes with the key it was asked for.
    if (this.queue.length > 0 && signing !== this.queueKey) this.flush();
    this.queueKey = signing;
    return new Promise((resolve, reject) => {
      this.queue.push(payloadJson);
      this.waiting.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flushTurn);
      }
    });
  }

  /**
   * Signs nothing more; what was asked for before is still signed and answered, then the
   * thread ends. Safe twice.
   */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.flush();
    this.endIfIdle();
  }

  private readonly flushTurn = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private flush(): void {
    if (this.queue.length === 0 || this.failed) return;
    this.worker ??= this.start();
    const id = ++this.batchId;
    const batch: SignBatch = {
      id,
      payloads: this.queue,
      ...(this.queueKey !== this.sentKey && this.queueKey ? { signing: this.queueKey } : {}),
    };
    this.sentKey = this.queueKey;
    this.inFlight.set(id, this.waiting);
    this.queue = [];
    this.waiting = [];
    // While a batch is out the process stays up for its answer, as for any pending I/O.
    this.worker.ref();
    this.worker.postMessage(batch);
  }

  private start(): Worker {
    const worker = startThread(import.meta.url, 'signing-worker');
    // Its owner ends it (close); an idle signing thread must not keep the process alive.
    worker.unref();
    worker.on('message', (m: SignedBatch) => this.settle(m));
    worker.on('error', (err) => this.fail(err));
    worker.once('exit', () => this.fail(new Error('the contract signing thread exited')));
    return worker;
  }

  private settle(m: SignedBatch): void {
    const batch = this.inFlight.get(m.id);
    if (!batch) return;
    this.inFlight.delete(m.id);
    // The error is made only for a batch that failed: answering a good one allocates nothing.
    let error: Error | undefined;
    batch.forEach((w, i) => {
      const jws = m.jws?.[i];
      if (jws !== undefined) w.resolve(jws);
      else w.reject((error ??= new Error(`contract signing failed: ${m.error ?? 'no signature'}`)));
    });
    if (this.inFlight.size === 0) this.worker?.unref();
    this.endIfIdle();
  }

  private endIfIdle(): void {
    if (this.closing && this.inFlight.size === 0 && this.queue.length === 0)
      this.fail(new Error('the contract signer is closed'));
  }

  /** Everything not yet answered fails with `err`, and the thread ends. */
  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    const waiting = [...this.waiting, ...[...this.inFlight.values()].flat()];
    this.queue = [];
    this.waiting = [];
    this.inFlight.clear();
    for (const w of waiting) w.reject(err);
    void this.worker?.terminate();
  }
}
