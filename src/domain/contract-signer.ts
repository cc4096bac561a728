/**
 * Signed contracts (§12). Every Contract carries `Signature`: a compact JWS (RFC 7515) whose
 * header is {"alg":"EdDSA","kid"} (Ed25519, RFC 8037) and whose payload is the Contract's JSON
 * without `Signature` — exactly the bytes the hub stores and answers up to that field. Anyone
 * holding the hub's JWK Set (`GET /api/v2/keys`) can check it with any JWS library.
 *
 * Ed25519 costs about 50 µs of CPU per signature. The single-process sale signs on a thread
 * of its own, a turn's sales in one batch (`signAsync`, signing-thread.ts), so that time is
 * spent beside the event loop, not on it (P2); the journal keeps commits in seq order while a
 * signature is pending (journal.ts). The shared market signs synchronously under the flavor's
 * row lock (`sign`), where PostgreSQL, not the hub's CPU, bounds a sale (P9). Keys live in the
 * store (StoredKey): the first start makes one, `rear-hub keys rotate` adds one, the newest
 * signs and every key stays published. A running hub re-reads the store's keys (`refresh`,
 * every KEY_REFRESH_MS in app.ts), so a key added by a rotation, or by another instance, is
 * picked up without restart.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { StoreBase, StoredKey } from '../store/store.js';
import type { Contract, ContractKey, JwkSet } from '../types/wire.js';
import { compactJws, type SigningKey } from './jws.js';
import { SigningThread } from './signing-thread.js';

/** How often a running hub re-reads the store's keys, ms. */
export const KEY_REFRESH_MS = 30_000;

/** A new Ed25519 key, ready to store. The kid names its creation day and is unique. */
export function newStoredKey(now: number): StoredKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  const day = new Date(now).toISOString().slice(0, 10).replaceAll('-', '');
  return {
    kid: `rear-${day}-${randomBytes(6).toString('base64url')}`,
    createdAt: now,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    publicJwk: JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }),
  };
}

function publish(key: StoredKey): ContractKey {
  const { x } = JSON.parse(key.publicJwk) as { x: string };
  return { kty: 'OKP', crv: 'Ed25519', x, kid: key.kid, alg: 'EdDSA', use: 'sig' };
}

/** The newest key: highest createdAt, then highest kid (the store lists oldest first). */
function newest(keys: readonly StoredKey[]): StoredKey | undefined {
  let best: StoredKey | undefined;
  for (const k of keys) {
    if (
      !best ||
      k.createdAt > best.createdAt ||
      (k.createdAt === best.createdAt && k.kid > best.kid)
    )
      best = k;
  }
  return best;
}

export class ContractSigner {
  private signing!: SigningKey & { kid: string };
  /** Started by the first `signAsync`: the shared market never needs it. */
  private thread: SigningThread | undefined;
  private published!: JwkSet;
  private known = '';

  private constructor(keys: readonly StoredKey[]) {
    this.use(keys);
  }

  /**
   * The signer over the store's keys, making and storing the first key if there is none.
   * Two instances starting at once on an empty store may each add one: both are kept and
   * published, and both instances then sign with the newer one.
   */
  static async open(store: StoreBase, now: number): Promise<ContractSigner> {
    let keys = await store.keys();
    if (keys.length === 0) {
      await store.addKey(newStoredKey(now));
      keys = await store.keys();
    }
    return new ContractSigner(keys);
  }

  /** Re-reads the store's keys: a rotated key signs from now on, and is published. */
  async refresh(store: StoreBase): Promise<void> {
    const keys = await store.keys();
    if (keys.length > 0) this.use(keys);
  }

  /** The kid of the key that signs now. */
  get kid(): string {
    return this.signing.kid;
  }

  /** The JWK Set of every key (§12), oldest first. */
  jwks(): JwkSet {
    return this.published;
  }

  /** The compact JWS of `payloadJson` (header.payload.signature, base64url). */
  sign(payloadJson: string): string {
    return compactJws(this.signing, payloadJson);
  }

  /** `sign`, computed on the signing thread: the event loop only queues it and collects it. */
  signAsync(payloadJson: string): Promise<string> {
    this.thread ??= new SigningThread();
    return this.thread.sign(this.signing, payloadJson);
  }

  /**
   * Ends the signing thread once what it was asked to sign is signed; `signAsync` refuses from
   * now on (a thread that never started is never started). Safe twice.
   */
  close(): void {
    (this.thread ??= new SigningThread()).close();
  }

  private use(keys: readonly StoredKey[]): void {
    const ids = keys.map((k) => k.kid).join(',');
    if (ids === this.known) return;
    const top = newest(keys);
    if (!top) throw new Error('no contract signing key');
    const key = createPrivateKey(top.privateKeyPem);
    // The stored public half must be the private key's own: a mismatch would publish a key
    // that verifies nothing this hub signs.
    const x = (createPublicKey(key).export({ format: 'jwk' }) as { x?: string }).x;
    if (x !== (JSON.parse(top.publicJwk) as { x?: string }).x)
      throw new Error(`contract key ${top.kid}: public key does not match its private key`);
    const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: top.kid })).toString(
      'base64url',
    );
    this.signing = { kid: top.kid, key, header };
    this.published = { keys: keys.map(publish) };
    this.known = ids;
  }
}

/**
 * The signed Contract's JSON: `contract` serialized once, then `Signature` (the JWS of exactly
 * those bytes) appended as its last field. Every sale path calls this and stores the result,
 * so a replay answers the same bytes. A `Signature` already on `contract` is ignored.
 * `flavorJson`, when the caller has it, is JSON.stringify(contract.Flavor) (a sale's flavor,
 * spliced from its entry's JSON: FlavorEntry.withType), and is not serialized again.
 */
export function signedContractJson(
  contract: Contract,
  signer: ContractSigner,
  flavorJson?: string,
): string {
  const payload = payloadOf(contract, flavorJson);
  return withSignature(payload, signer.sign(payload));
}

/** `signedContractJson`, signed on the signing thread (`ContractSigner.signAsync`). */
export async function signContractJson(
  contract: Contract,
  signer: ContractSigner,
  flavorJson?: string,
): Promise<string> {
  const payload = payloadOf(contract, flavorJson);
  return withSignature(payload, await signer.signAsync(payload));
}

const FLAVOR_MARK = '"Flavor":0';

/** JSON.stringify(contract) without its Signature, with `flavorJson` as its Flavor's JSON. */
export function payloadOf(contract: Contract, flavorJson?: string): string {
  let unsigned: Omit<Contract, 'Signature'> = contract;
  if (contract.Signature !== undefined) {
    const { Signature: _ignored, ...rest } = contract;
    unsigned = rest;
  }
  if (flavorJson === undefined) return JSON.stringify(unsigned);
  // The Flavor serialized as 0, in its place, then its JSON put there: half the time of
  // serializing the flavor again. The mark can only be the Flavor key's (a string's quotes are
  // escaped); should a nested object's key make a second one, nothing is spliced.
  const text = JSON.stringify({ ...unsigned, Flavor: 0 });
  const at = text.indexOf(FLAVOR_MARK);
  if (at < 0 || text.indexOf(FLAVOR_MARK, at + 1) >= 0) return JSON.stringify(unsigned);
  const value = at + FLAVOR_MARK.length - 1;
  return text.slice(0, value) + flavorJson + text.slice(value + 1);
}

/** A compact JWS is base64url parts and dots: nothing in it needs escaping in a JSON string. */
function withSignature(payload: string, jws: string): string {
  return `${payload.slice(0, -1)},"Signature":"${jws}"}`;
}
