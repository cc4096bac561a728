/**
 * The compact JWS (RFC 7515) of a contract's JSON with the hub's Ed25519 key: the one place
 * that builds it, whether on the event loop (the shared market, under a row lock) or on the
 * signing thread (signing-worker.ts).
 */
import { sign, type KeyObject } from 'node:crypto';

/** A signing key and its JWS protected header ({"alg":"EdDSA","kid"}), base64url. */
export interface SigningKey {
  readonly key: KeyObject;
  readonly header: string;
}

/** header.payload.signature, each part base64url. */
export function compactJws(signing: SigningKey, payloadJson: string): string {
  const input = `${signing.header}.${Buffer.from(payloadJson).toString('base64url')}`;
  const signature = sign(null, Buffer.from(input), signing.key);
  return `${input}.${signature.toString('base64url')}`;
}
