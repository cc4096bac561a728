/**
 * The tokens file (§2, §11): read and validated against schemas/token-entry.json, or — in demo
 * mode without one — demo identities with fresh random tokens, written once (in clear text,
 * and each entry says so) to ./data/tokens.json and reused on later starts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { lazyValidator } from './schemas.js';
import type { ClearTokenEntry, TokenEntry } from './types/wire.js';

/** The tokenHash of a token: "sha256:" and the hex of its SHA-256. */
export function tokenHash(token: string): string {
  return `sha256:${createHash('sha256').update(token).digest('hex')}`;
}

/** A fresh random token (32 bytes of entropy, url-safe), prefixed to say whose it is. */
export function newToken(prefix: string): string {
  return `${prefix}.${randomBytes(32).toString('base64url')}`;
}

const validEntry = lazyValidator<TokenEntry>('TokenEntry');

export function readTokens(path: string): TokenEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read tokens file ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(data)) throw new Error(`tokens file ${path} must hold a JSON array`);
  const seen = new Set<string>();
  return data.map((entry, i) => {
    if (!validEntry(entry)) {
      const e = validEntry.errors?.[0];
      throw new Error(
        `tokens file ${path}, entry ${i}: ${e?.instancePath ?? ''} ${e?.message ?? 'is invalid'}`,
      );
    }
    const hash = 'token' in entry ? tokenHash(entry.token) : entry.tokenHash;
    if (seen.has(hash)) throw new Error(`tokens file ${path}, entry ${i}: duplicate token`);
    seen.add(hash);
    return entry;
  });
}

const DEMO_NOTE =
  'Demo token in clear text. A production tokens file holds tokenHash entries (rear-hub tokens add).';

const DEMO_IDENTITIES: Array<Omit<ClearTokenEntry, 'token' | 'note'>> = [
  {
    role: 'provider',
    identity: { Domain: 'milan.fluidos.eu', NodeID: 'provider-milan', IP: '10.1.0.1' },
  },
  {
    role: 'provider',
    identity: { Domain: 'turin.fluidos.eu', NodeID: 'provider-turin', IP: '10.2.0.1' },
  },
  {
    role: 'provider',
    identity: { Domain: 'paris.fluidos.eu', NodeID: 'provider-paris', IP: '10.3.0.1' },
  },
  {
    role: 'consumer',
    identity: { Domain: 'alice.example', NodeID: 'consumer-alice', IP: '10.9.0.1' },
  },
  { role: 'consumer', identity: { Domain: 'bob.example', NodeID: 'consumer-bob', IP: '10.9.0.2' } },
  { role: 'admin', identity: { Domain: 'hub.example', NodeID: 'admin', IP: '127.0.0.1' } },
];

/** The demo tokens at `path`, created with fresh random tokens when missing. */
export function demoTokens(path: string): TokenEntry[] {
  // `rear-hub tokens add` may have appended hashed entries beside the demo's clear ones.
  if (existsSync(path)) return readTokens(path);
  const entries = DEMO_IDENTITIES.map((e) => ({
    token: `${e.identity.NodeID}.${randomBytes(12).toString('base64url')}`,
    ...e,
    note: DEMO_NOTE,
  }));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 });
  return entries;
}
