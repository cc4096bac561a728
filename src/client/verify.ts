/**
 * verifyContract(contract, jwks): does a Contract carry a valid signature of the hub (§12),
 * and does that signature cover exactly this contract? Browser-safe: jose and Web Crypto,
 * no node: import. Fetch the JWK Set from `GET /api/v2/keys` (no token needed).
 */
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { Contract } from '../types/wire.js';

export type ContractVerification =
  { valid: true; kid: string } | { valid: false; reason: string; kid?: string };

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function sameJson(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => sameJson(v, b[i] as Json));
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && sameJson(a[k] as Json, b[k] as Json));
}

/**
 * Checks `contract.Signature` against `jwks`: an EdDSA compact JWS by a key of the set (picked
 * by its kid) whose payload is this contract without `Signature`. The contract may be the
 * parsed object or the JSON text as received; field order and whitespace do not matter, any
 * changed, added or removed field does. Never throws for a bad contract: it says why.
 */
export async function verifyContract(
  contract: Contract | string,
  jwks: JSONWebKeySet,
): Promise<ContractVerification> {
  let parsed: Contract;
  try {
    parsed = typeof contract === 'string' ? (JSON.parse(contract) as Contract) : contract;
  } catch {
    return { valid: false, reason: 'the contract is not JSON' };
  }
  const { Signature, ...rest } = parsed;
  if (typeof Signature !== 'string' || Signature === '')
    return { valid: false, reason: 'the contract has no Signature' };
  let kid: string | undefined;
  try {
    const result = await compactVerify(Signature, createLocalJWKSet(jwks), {
      algorithms: ['EdDSA'],
    });
    kid = result.protectedHeader.kid;
    const payload = JSON.parse(new TextDecoder().decode(result.payload)) as Json;
    if (!sameJson(payload, rest as unknown as Json)) {
      return {
        valid: false,
        reason: 'the signature is valid but covers a different contract',
        ...(kid ? { kid } : {}),
      };
    }
    if (!kid) return { valid: false, reason: 'the signature names no kid' };
    return { valid: true, kid };
  } catch (err) {
    return {
      valid: false,
      reason: `the signature does not verify: ${(err as Error).message}`,
      ...(kid ? { kid } : {}),
    };
  }
}
