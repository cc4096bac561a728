/** The contract signer on its own: its JWS checked by jose, key choice, refresh, a bad key. */
import { compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  ContractSigner,
  newStoredKey,
  signedContractJson,
} from '../../src/domain/contract-signer.js';
import type { Store, StoredKey } from '../../src/store/store.js';
import type { Contract } from '../../src/types/wire.js';

function keyStore(initial: StoredKey[] = []) {
  const keys = [...initial];
  const store = {
    keys: async () =>
      [...keys].sort((a, b) => a.createdAt - b.createdAt || (a.kid < b.kid ? -1 : 1)),
    addKey: async (k: StoredKey) => {
      if (!keys.some((x) => x.kid === k.kid)) keys.push(k);
    },
  } as unknown as Store;
  return { store, keys };
}

const contract: Contract = {
  ContractID: 'ct-1',
  TransactionID: 'tx-1',
  Flavor: {
    flavorId: 'fl-1',
    providerId: 'prov-a',
    timestamp: '2026-01-01T00:00:00.000Z',
    expirationTime: '2026-01-01T00:05:00.000Z',
    type: { name: 'k8slice', data: { characteristics: { cpu: '2', memory: '4Gi', pods: '10' } } },
    price: { amount: '1', currency: 'EUR', period: 'hour' },
    owner: { domain: 'a.test', nodeId: 'prov-a', ip: '10.0.0.1' },
    availability: true,
  },
  Buyer: { Domain: 'c.test', NodeID: 'cons-0', IP: '10.1.0.0' },
  Seller: { Domain: 'a.test', NodeID: 'prov-a', IP: '10.0.0.1' },
  ExpirationTime: '2026-01-31T00:00:00.000Z',
  Timestamp: '2026-01-01T00:00:00.000Z',
};

describe('ContractSigner', () => {
  it('makes the first key, then signs a JWS jose verifies, payload = the contract without Signature', async () => {
    const { store, keys } = keyStore();
    const signer = await ContractSigner.open(store, 1000);
    expect(keys).toHaveLength(1);
    const json = signedContractJson(contract, signer);
    const { Signature, ...rest } = JSON.parse(json) as Contract;
    expect(rest).toEqual(contract);
    expect(json.startsWith(JSON.stringify(contract).slice(0, -1))).toBe(true);
    expect(decodeProtectedHeader(Signature as string)).toEqual({ alg: 'EdDSA', kid: signer.kid });
    const { payload } = await compactVerify(
      Signature as string,
      createLocalJWKSet(signer.jwks() as any),
    );
    expect(new TextDecoder().decode(payload)).toBe(JSON.stringify(contract));
    // A Signature already on the contract is replaced, not signed over.
    expect(signedContractJson({ ...contract, Signature: 'old' }, signer)).toBe(json);
  });

  it('signs with the newest key, publishes all, and switches on refresh', async () => {
    const old = newStoredKey(1000);
    const { store } = keyStore([old]);
    const signer = await ContractSigner.open(store, 5000);
    expect(signer.kid).toBe(old.kid);
    const next = newStoredKey(2000);
    await store.addKey(next);
    expect(signer.kid).toBe(old.kid);
    await signer.refresh(store);
    expect(signer.kid).toBe(next.kid);
    expect(signer.jwks().keys.map((k) => k.kid)).toEqual([old.kid, next.kid]);
    expect(signer.jwks().keys[0]).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: JSON.parse(old.publicJwk).x,
      kid: old.kid,
      alg: 'EdDSA',
      use: 'sig',
    });
  });

  it('refuses a stored key whose public half is not its private key', async () => {
    const a = newStoredKey(1000);
    const b = newStoredKey(1000);
    const { store } = keyStore([{ ...a, publicJwk: b.publicJwk }]);
    await expect(ContractSigner.open(store, 1000)).rejects.toThrow(/does not match/);
  });
});
