/**
 * How a sale floor signs its contracts (P2's, and P9's signing variant): as the hub's
 * single-process market does, on the hub's own signing thread as it ships (tsc build, a turn's
 * contracts in one batch: src/domain/signing-thread.ts), with a key of the floor's own. A
 * signature is part of a contract's bytes, and no cheaper way makes it.
 */
import { generateKeyPairSync } from 'node:crypto';
import type * as SigningModule from '../../../src/domain/signing-thread.js';

const { SigningThread } = (await import(
  new URL('../../../dist/src/domain/signing-thread.js', import.meta.url).href
)) as typeof SigningModule;
const signing = {
  key: generateKeyPairSync('ed25519').privateKey,
  header: Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: 'floor' })).toString('base64url'),
};
const signer = new SigningThread();

/** The contract JSON `payload` with its Signature appended, signed on the signing thread. */
export async function signedContract(payload: string): Promise<string> {
  return `${payload.slice(0, -1)},"Signature":"${await signer.sign(signing, payload)}"}`;
}

/** A signed contract's JSON without its Signature: the payload a new one is signed over. */
export function unsignedContract(json: string): string {
  return `${json.slice(0, json.indexOf(',"Signature":'))}}`;
}
