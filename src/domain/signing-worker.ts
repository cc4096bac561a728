/**
 * The contract signing thread (signing-thread.ts starts it): signs each batch of contract
 * payloads it is sent, in order, and answers the batch with their compact JWS in one message.
 * A batch carries its key when the key differs from the previous batch's (a rotation).
 */
import { parentPort } from 'node:worker_threads';
import { compactJws, type SigningKey } from './jws.js';

export interface SignBatch {
  readonly id: number;
  readonly payloads: readonly string[];
  readonly signing?: SigningKey;
}

export interface SignedBatch {
  readonly id: number;
  readonly jws?: readonly string[];
  readonly error?: string;
}

let signing: SigningKey | undefined;

parentPort?.on('message', (batch: SignBatch) => {
  if (batch.signing) signing = batch.signing;
  let reply: SignedBatch;
  try {
    if (!signing) throw new Error('the signing thread has no key');
    const key = signing;
    reply = { id: batch.id, jws: batch.payloads.map((p) => compactJws(key, p)) };
  } catch (err) {
    reply = { id: batch.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(reply);
});
