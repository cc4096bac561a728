/**
 * Signed contracts (§12): every Contract carries a compact EdDSA JWS of itself, checked here
 * with jose (an implementation independent of the hub's node:crypto signer) against the JWK
 * Set at GET /api/v2/keys; keys survive restarts and rotations; a replay answers the same bytes.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyContract } from '../../src/client/verify.js';
import { keysCommand, rotateKey } from '../../src/cli/keys.js';
import {
  hubsClosedAfterEach,
  k8slice,
  startHub,
  tempDbPath,
  type TestHub,
} from '../helpers/hub.js';

const hub = hubsClosedAfterEach();
const P = 'tok-provider-a';
const C = 'tok-consumer-0';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});
function ownDb(): string {
  const { dir, path } = tempDbPath();
  dirs.push(dir);
  return path;
}

/** Publishes a flavor, reserves and buys it; returns the purchase's raw answer. */
async function buy(h: TestHub, body: unknown = k8slice()): Promise<{ text: string; txId: string }> {
  const pub = await h.api('POST', '/api/v2/flavors', P, body);
  expect(pub.status).toBe(201);
  const r = await h.api('POST', '/api/v2/reservations', C, { FlavorID: pub.body.flavorId });
  expect(r.status).toBe(200);
  const txId = r.body.TransactionID as string;
  const bought = await h.api('POST', `/api/v2/transactions/${txId}/purchase`, C);
  expect(bought.status).toBe(200);
  return { text: bought.text, txId };
}

async function keys(h: TestHub) {
  const r = await h.api('GET', '/api/v2/keys');
  expect(r.status).toBe(200);
  return r.body as { keys: Array<Record<string, string>> };
}

/** Verifies with jose alone: the JWS, then that its payload is the contract minus Signature. */
async function joseVerifies(contractText: string, jwks: { keys: any[] }): Promise<string> {
  const contract = JSON.parse(contractText) as Record<string, unknown>;
  const { Signature, ...rest } = contract;
  const { payload, protectedHeader } = await compactVerify(
    Signature as string,
    createLocalJWKSet(jwks),
    { algorithms: ['EdDSA'] },
  );
  expect(JSON.parse(new TextDecoder().decode(payload))).toEqual(rest);
  // The payload is the stored contract's own bytes up to its Signature field.
  expect(contractText.startsWith(new TextDecoder().decode(payload).slice(0, -1))).toBe(true);
  return protectedHeader.kid as string;
}

describe('Signed contracts (§12)', () => {
  it('publishes the JWK Set without a token, exactly as §12 shapes it', async () => {
    const h = await hub();
    const set = await keys(h);
    expect(set.keys).toHaveLength(1);
    expect(Object.keys(set.keys[0] as object).sort()).toEqual(
      ['alg', 'crv', 'kid', 'kty', 'use', 'x'].sort(),
    );
    expect(set.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
  });

  it('signs every contract: it verifies against the published set with jose', async () => {
    const h = await hub();
    const { text } = await buy(h);
    const set = await keys(h);
    const kid = await joseVerifies(text, set);
    expect(kid).toBe(set.keys[0]?.kid);
    const header = decodeProtectedHeader(JSON.parse(text).Signature as string);
    expect(header).toEqual({ alg: 'EdDSA', kid });
    expect(await verifyContract(text, set)).toEqual({ valid: true, kid });
    expect(await verifyContract(JSON.parse(text), set)).toEqual({ valid: true, kid });
    // The contract as read back is the same bytes, still verifying.
    const id = JSON.parse(text).ContractID as string;
    const read = await h.api('GET', `/api/v2/contracts/${id}`, C);
    expect(read.text).toBe(text);
  });

  it('a contract altered in any field fails verification', async () => {
    const h = await hub();
    const { text } = await buy(h);
    const set = await keys(h);
    const contract = JSON.parse(text) as Record<string, any>;
    const alterations: Array<(c: Record<string, any>) => void> = [
      (c) => (c.ContractID = `${c.ContractID}x`),
      (c) => (c.TransactionID = 'other'),
      (c) => (c.ExpirationTime = '2099-01-01T00:00:00.000Z'),
      (c) => (c.Timestamp = '2000-01-01T00:00:00.000Z'),
      (c) => (c.Buyer.NodeID = 'someone-else'),
      (c) => (c.Seller.IP = '10.9.9.9'),
      (c) => (c.Flavor.price.amount = '0.01'),
      (c) => (c.Flavor.type.data.characteristics.cpu = '64'),
      (c) => (c.Extra = true),
      (c) => delete c.Timestamp,
    ];
    for (const alter of alterations) {
      const copy = structuredClone(contract);
      alter(copy);
      const result = await verifyContract(copy as any, set);
      expect(result.valid, JSON.stringify(result)).toBe(false);
      await expect(joseVerifies(JSON.stringify(copy), set)).rejects.toThrow();
    }
    // A tampered signature, and a contract without one.
    const sig = contract.Signature as string;
    const flipped = sig.slice(0, -2) + (sig.at(-2) === 'A' ? 'B' : 'A') + sig.at(-1);
    expect((await verifyContract({ ...contract, Signature: flipped } as any, set)).valid).toBe(
      false,
    );
    const { Signature: _s, ...unsigned } = contract;
    expect(await verifyContract(unsigned as any, set)).toEqual({
      valid: false,
      reason: 'the contract has no Signature',
    });
    // A key set without the signing key.
    expect((await verifyContract(text, { keys: [] })).valid).toBe(false);
  });

  it('a replayed purchase answers the identical bytes, signature included', async () => {
    const h = await hub();
    const { text, txId } = await buy(h);
    const again = await h.api('POST', `/api/v2/transactions/${txId}/purchase`, C);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(text);
  });

  it('keeps its key across a restart; after a rotation old contracts still verify and new ones use the new key', async () => {
    const dbPath = ownDb();
    const first = await startHub({ dbPath });
    const before = await buy(first);
    const setBefore = await keys(first);
    await first.close();

    const second = await startHub({ dbPath });
    expect(await keys(second)).toEqual(setBefore);
    await second.close();

    const rotated = await rotateKey({ db: dbPath });
    expect(rotated.kids).toHaveLength(2);
    expect(rotated.kids).toContain(setBefore.keys[0]?.kid);

    const third = await startHub({ dbPath });
    const setAfter = await keys(third);
    expect(setAfter.keys.map((k) => k.kid)).toEqual(rotated.kids);
    // Signed before the rotation: still verifies against the set published after it.
    expect(await joseVerifies(before.text, setAfter)).toBe(setBefore.keys[0]?.kid);
    const after = await buy(third);
    expect(await joseVerifies(after.text, setAfter)).toBe(rotated.kid);
    expect(await verifyContract(before.text, setAfter)).toEqual({
      valid: true,
      kid: setBefore.keys[0]?.kid,
    });
    await third.close();
  });

  it('a running hub picks up a rotated key without a restart', async () => {
    const dbPath = ownDb();
    const h = await startHub({ dbPath, keyRefreshMs: 50 });
    try {
      const oldKid = (await keys(h)).keys[0]?.kid;
      let out = '';
      expect(await keysCommand(['rotate', '--db', dbPath, '--json'], {}, (l) => (out = l))).toBe(0);
      const { kid } = JSON.parse(out) as { kid: string };
      expect(kid).not.toBe(oldKid);
      const end = Date.now() + 5000;
      while ((await keys(h)).keys.length < 2 && Date.now() < end)
        await new Promise((r) => setTimeout(r, 20));
      const { text } = await buy(h);
      expect(await joseVerifies(text, await keys(h))).toBe(kid);
    } finally {
      await h.close();
    }
  });

  it('`rear-hub keys rotate --db FILE` from the command line adds a key to that store', async () => {
    const dbPath = ownDb();
    const first = await rotateKey({ db: dbPath });
    const cli = new URL('../../src/cli.ts', import.meta.url).pathname;
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', tsx, cli, 'keys', 'rotate', '--db', dbPath],
      { env: { ...process.env, REAR_DB: '' } },
    );
    const kid = stdout.trim();
    expect(kid).toMatch(/^rear-\d{8}-/);
    const h = await startHub({ dbPath });
    try {
      expect((await keys(h)).keys.map((k) => k.kid)).toEqual([...first.kids, kid]);
    } finally {
      await h.close();
    }
  });

  it('keys rotate: usage errors exit 2', async () => {
    const lines: string[] = [];
    expect(await keysCommand([], {}, (l) => lines.push(l))).toBe(2);
    expect(await keysCommand(['spin'], {}, (l) => lines.push(l))).toBe(2);
    expect(await keysCommand(['--help'], {}, (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toContain('rear-hub keys rotate');
  });
});
