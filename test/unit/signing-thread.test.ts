/**
 * The signing thread (signing-thread.ts, signing-worker.ts) with a real worker: a turn's
 * signatures all verify, each over its own payload; a key changed within a turn signs what
 * was asked after the change only; close() still answers what was asked before it; a key the
 * thread cannot sign with fails its batch instead of answering.
 */
import { compactVerify, createLocalJWKSet } from 'jose';
import { execFileSync } from 'node:child_process';
import { createSecretKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ContractSigner,
  newStoredKey,
  signContractJson,
} from '../../src/domain/contract-signer.js';
import { compactJws, type SigningKey } from '../../src/domain/jws.js';
import { SigningThread } from '../../src/domain/signing-thread.js';
import type { Store } from '../../src/store/store.js';

function signingKey(kid: string): { signing: SigningKey; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid })).toString('base64url');
  return { signing: { key: privateKey, header }, publicKey };
}

function keySet(...keys: Array<{ kid: string; publicKey: KeyObject }>) {
  return createLocalJWKSet({
    keys: keys.map(({ kid, publicKey }) => ({
      ...publicKey.export({ format: 'jwk' }),
      kid,
      alg: 'EdDSA',
    })),
  });
}

const threads: SigningThread[] = [];
function thread(): SigningThread {
  const t = new SigningThread();
  threads.push(t);
  return t;
}
afterEach(() => {
  for (const t of threads.splice(0)) t.close();
});

describe('SigningThread', () => {
  it("signs a turn's payloads together, each JWS over its own payload, as the event loop would sign it", async () => {
    const t = thread();
    const a = signingKey('a');
    const payloads = Array.from({ length: 50 }, (_, i) =>
      JSON.stringify({ ContractID: `ct-${i}` }),
    );
    const signed = await Promise.all(payloads.map((p) => t.sign(a.signing, p)));
    const keys = keySet({ kid: 'a', ...a });
    for (const [i, jws] of signed.entries()) {
      const { payload, protectedHeader } = await compactVerify(jws, keys);
      expect(new TextDecoder().decode(payload)).toBe(payloads[i]);
      expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: 'a' });
      // Ed25519 is deterministic: the thread's JWS is the one signed here, byte for byte.
      expect(jws).toBe(compactJws(a.signing, payloads[i] as string));
    }
  });

  it('a key changed within a turn signs only what is asked after the change', async () => {
    const t = thread();
    const a = signingKey('a');
    const b = signingKey('b');
    const asked = [a, a, b, b, a].map((k, i) => ({ k, p: `{"n":${i}}` }));
    const signed = await Promise.all(asked.map(({ k, p }) => t.sign(k.signing, p)));
    const keys = keySet({ kid: 'a', ...a }, { kid: 'b', ...b });
    for (const [i, jws] of signed.entries()) {
      const { protectedHeader } = await compactVerify(jws, keys);
      expect(protectedHeader.kid).toBe(asked[i]?.k === a ? 'a' : 'b');
    }
    // And in a later turn, with the key the thread already holds.
    expect(await t.sign(b.signing, '{"n":9}')).toBe(compactJws(b.signing, '{"n":9}'));
  });

  it('close() answers what was asked before it, and refuses what comes after', async () => {
    const t = thread();
    const a = signingKey('a');
    const before = [t.sign(a.signing, '{"n":1}'), t.sign(a.signing, '{"n":2}')];
    t.close();
    await expect(t.sign(a.signing, '{"n":3}')).rejects.toThrow(/closed/);
    expect(await Promise.all(before)).toEqual([
      compactJws(a.signing, '{"n":1}'),
      compactJws(a.signing, '{"n":2}'),
    ]);
    t.close();
  });

  it('a key the thread cannot sign with fails its batch, and later batches with a good key still sign', async () => {
    const t = thread();
    const bad: SigningKey = { key: createSecretKey(Buffer.alloc(32)), header: 'x' };
    const failed = [t.sign(bad, '{"n":1}'), t.sign(bad, '{"n":2}')];
    for (const f of failed) await expect(f).rejects.toThrow(/contract signing failed/);
    const a = signingKey('a');
    expect(await t.sign(a.signing, '{"n":3}')).toBe(compactJws(a.signing, '{"n":3}'));
  });

  it('a batch on its way keeps the process up until it is answered; an idle thread does not', () => {
    // A process whose only pending work is a signature: it must print it, then exit by itself
    // (the idle thread does not hold it: execFileSync would time out).
    const module = fileURLToPath(new URL('../../src/domain/signing-thread.ts', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'rear-signing-'));
    const script = join(dir, 'sign-once.mts');
    writeFileSync(
      script,
      // The second signature is asked for once the thread runs and is idle, from a timer: then
      // nothing but its batch is pending.
      `import { generateKeyPairSync } from 'node:crypto';
      import { SigningThread } from ${JSON.stringify(module)};
      const signing = { key: generateKeyPairSync('ed25519').privateKey, header: 'h' };
      const thread = new SigningThread();
      await thread.sign(signing, '{}');
      setTimeout(() => {
        void thread.sign(signing, '{"n":2}').then((jws) => console.log(jws.split('.').length));
      }, 100);`,
    );
    try {
      const out = execFileSync(process.execPath, ['--import', 'tsx', script], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(out.trim()).toBe('3');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ContractSigner.signAsync', () => {
  it('signs on the thread what sign() signs on the event loop, and close() ends the thread', async () => {
    const keys = [newStoredKey(1000)];
    const store = { keys: async () => keys, addKey: async () => {} } as unknown as Store;
    const signer = await ContractSigner.open(store, 1000);
    const payload = '{"ContractID":"ct-1"}';
    expect(await signer.signAsync(payload)).toBe(signer.sign(payload));
    const contract = { ContractID: 'ct-2' } as never;
    const json = await signContractJson(contract, signer);
    expect(json).toBe(
      `{"ContractID":"ct-2","Signature":"${signer.sign('{"ContractID":"ct-2"}')}"}`,
    );
    signer.close();
    await expect(signer.signAsync(payload)).rejects.toThrow(/closed/);
    // One closed before it ever signed asynchronously starts no thread for a later sale.
    const unused = await ContractSigner.open(store, 1000);
    unused.close();
    await expect(unused.signAsync(payload)).rejects.toThrow(/closed/);
  });
});
