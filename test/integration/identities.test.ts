/**
 * Identities beyond a clear-text tokens file (§11): hashed tokens, `rear-hub tokens add`, and
 * JWTs from an identity provider — a real JWK Set server on loopback, keys of each pinned
 * algorithm, the auth matrix, key rotation, and WebSocket upgrades and expiry.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tokensAdd } from '../../src/cli/tokens.js';
import { readTokens, tokenHash } from '../../src/tokens.js';
import { hubsClosedAfterEach, k8slice, makeTokens, sleep, WsClient } from '../helpers/hub.js';

const startHub = hubsClosedAfterEach();
const ISSUER = 'https://idp.test';
const AUDIENCE = 'rear-hub';
const IDENTITY = { Domain: 'jwt.test', NodeID: 'jwt-node', IP: '10.7.0.1' };

type Alg = 'RS256' | 'ES256' | 'EdDSA';
interface Key {
  alg: Alg;
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function makeKey(alg: Alg, kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(
    alg,
    alg === 'EdDSA' ? { crv: 'Ed25519' } : {},
  );
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** The identity provider's JWK Set, served on loopback; `keys` may change (rotation). */
let idp: Server;
let jwksUrl: string;
let published: Key[] = [];
let fetches = 0;
const keys: Partial<Record<Alg, Key>> = {};

beforeAll(async () => {
  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const)
    keys[alg] = await makeKey(alg, `k-${alg}`);
  published = Object.values(keys) as Key[];
  idp = createServer((req, res) => {
    fetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  const address = idp.address() as { port: number };
  jwksUrl = `http://127.0.0.1:${address.port}/.well-known/jwks.json`;
});
afterAll(async () => {
  await new Promise((r) => idp.close(r));
});

interface Claims {
  role?: unknown;
  identity?: unknown;
  iss?: string;
  aud?: string;
  expSeconds?: number | null;
}

async function sign(key: Key, c: Claims = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {};
  if (c.role !== null) payload.rear_role = c.role ?? 'consumer';
  if (c.identity !== null) payload.rear_identity = c.identity ?? IDENTITY;
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuer(c.iss ?? ISSUER)
    .setAudience(c.aud ?? AUDIENCE)
    .setIssuedAt(now - 5);
  if (c.expSeconds !== null) jwt.setExpirationTime(now + (c.expSeconds ?? 300));
  return jwt.sign(key.privateKey);
}

const jwtHub = (over: Record<string, unknown> = {}) =>
  startHub({ jwt: { jwksUrl, issuer: ISSUER, audience: AUDIENCE, cooldownMs: 50, ...over } });

describe('JWT bearer tokens', () => {
  it('accepts a token signed with each pinned algorithm; role and identity come from its claims', async () => {
    const hub = await jwtHub();
    for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
      const r = await hub.api(
        'GET',
        '/api/v2/whoami',
        await sign(keys[alg] as Key, { role: 'provider' }),
      );
      expect(r.status, alg).toBe(200);
      expect(r.body).toEqual({ role: 'provider', identity: IDENTITY });
    }
    const consumer = await sign(keys.ES256 as Key);
    expect((await hub.api('POST', '/api/v2/flavors', consumer, k8slice())).status).toBe(403);
    const provider = await sign(keys.EdDSA as Key, { role: 'provider' });
    const flavor = await hub.api('POST', '/api/v2/flavors', provider, k8slice());
    expect(flavor.status).toBe(201);
    expect(flavor.body.providerId).toBe('jwt-node');
    // The tokens file works beside the JWK Set.
    expect((await hub.api('GET', '/api/v2/whoami', 'tok-consumer-0')).status).toBe(200);
  });

  it('answers every failure with 401 UNAUTHORIZED saying why', async () => {
    const hub = await jwtHub();
    const stranger = await makeKey('ES256', 'k-ES256'); // same kid, other key: bad signature
    const unknownKid = await makeKey('RS256', 'k-unknown');
    const hs = await new SignJWT({ rear_role: 'consumer', rear_identity: IDENTITY })
      .setProtectedHeader({ alg: 'HS256', kid: 'k-ES256' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('a-shared-secret-that-is-long-enough!'));
    const rs = keys.RS256 as Key;
    const cases: Array<[string, string, RegExp]> = [
      ['expired', await sign(rs, { expSeconds: -120 }), /expired/],
      ['bad signature', await sign(stranger), /signature/],
      ['wrong audience', await sign(rs, { aud: 'someone-else' }), /audience/],
      ['wrong issuer', await sign(rs, { iss: 'https://evil.test' }), /issuer/],
      ['no exp', await sign(rs, { expSeconds: null }), /exp/],
      ['missing rear_role', await sign(rs, { role: null }), /rear_role/],
      ['bad rear_role', await sign(rs, { role: 'root' }), /rear_role/],
      ['missing rear_identity', await sign(rs, { identity: null }), /rear_identity/],
      ['bad rear_identity', await sign(rs, { identity: { NodeID: 'x' } }), /rear_identity/],
      ['HS256', hs, /algorithm/],
      ['unknown kid', await sign(unknownKid), /kid/],
      ['not JSON', 'eyJhbGciOi.eyJ.sig', /malformed/],
    ];
    for (const [name, token, why] of cases) {
      const r = await hub.api('GET', '/api/v2/whoami', token);
      expect(r.status, name).toBe(401);
      expect(r.body.code, name).toBe('UNAUTHORIZED');
      expect(r.body.message, name).toMatch(why);
    }
  });

  it('an unreachable JWK Set is a 401 saying so, never a 500', async () => {
    const down = createServer();
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    const port = (down.address() as { port: number }).port;
    await new Promise((r) => down.close(r));
    const hub = await jwtHub({ jwksUrl: `http://127.0.0.1:${port}/jwks.json` });
    const r = await hub.api('GET', '/api/v2/whoami', await sign(keys.RS256 as Key));
    expect(r.status).toBe(401);
    expect(r.body.message).toMatch(/could not be fetched/);
  });

  it('without a JWK Set configured, a JWT is just an unknown token', async () => {
    const hub = await startHub();
    const r = await hub.api('GET', '/api/v2/whoami', await sign(keys.RS256 as Key));
    expect(r.status).toBe(401);
    expect(r.body.message).toBe('A valid bearer token is required');
  });

  it('picks up a key rotated in at the issuer (a new kid)', async () => {
    const hub = await jwtHub();
    expect((await hub.api('GET', '/api/v2/whoami', await sign(keys.RS256 as Key))).status).toBe(
      200,
    );
    const rotated = await makeKey('ES256', 'k-rotated');
    const before = fetches;
    published = [...published, rotated];
    try {
      await sleep(100); // past the cool-down between two fetches
      const r = await hub.api('GET', '/api/v2/whoami', await sign(rotated, { role: 'admin' }));
      expect(r.status).toBe(200);
      expect(r.body.role).toBe('admin');
      expect(fetches).toBeGreaterThan(before);
    } finally {
      published = published.filter((k) => k !== rotated);
    }
  });

  it('authenticates WebSocket upgrades the same way, and closes one with 4401 when its JWT expires', async () => {
    const hub = await jwtHub({ clockToleranceSeconds: 0 });
    await expect(
      WsClient.open(hub.wsUrl, await sign(keys.RS256 as Key, { aud: 'x' })),
    ).rejects.toThrow(/401/);
    const lasting = await WsClient.open(hub.wsUrl, await sign(keys.EdDSA as Key), true);
    lasting.send({ type: 'PING', id: 'p' });
    expect((await lasting.next((m) => m.type === 'PONG')).id).toBe('p');
    const short = await WsClient.open(hub.wsUrl, await sign(keys.ES256 as Key, { expSeconds: 2 }));
    expect(await short.closed(6000)).toBe(4401);
    expect(lasting.closeCode).toBeUndefined();
    lasting.close();
  });
});

describe('hashed tokens and `rear-hub tokens add`', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rear-tokens-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {});

  it('accepts a tokenHash entry and only the token whose SHA-256 it is', async () => {
    const entries = makeTokens(1);
    const hashed = {
      tokenHash: tokenHash('s3cret-token-value'),
      role: 'admin' as const,
      identity: IDENTITY,
    };
    const hub = await startHub({ tokens: [...entries, hashed] });
    const r = await hub.api('GET', '/api/v2/whoami', 's3cret-token-value');
    expect(r.body).toEqual({ role: 'admin', identity: IDENTITY });
    expect((await hub.api('GET', '/api/v2/whoami', 's3cret-token-valuf')).status).toBe(401);
    expect((await hub.api('GET', '/api/v2/whoami', hashed.tokenHash)).status).toBe(401);
    expect((await hub.api('GET', '/api/v2/whoami', 'tok-consumer-0')).status).toBe(200);
  });

  it('tokens add appends a hashed entry and prints the token once; the hub accepts it', async () => {
    const file = join(dir, 'tokens.json');
    const printed: string[] = [];
    const token = await tokensAdd(
      { role: 'provider', nodeId: 'edge-1', domain: 'edge.example', ip: '10.5.0.1', tokens: file },
      (line) => printed.push(line),
    );
    expect(printed).toEqual([token]);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(token);
    const entries = readTokens(file);
    expect(entries).toEqual([
      {
        tokenHash: tokenHash(token),
        role: 'provider',
        identity: { Domain: 'edge.example', NodeID: 'edge-1', IP: '10.5.0.1' },
      },
    ]);
    await expect(
      tokensAdd({ role: 'root', nodeId: 'x', domain: 'y', tokens: file }, () => {}),
    ).rejects.toThrow(/--role/);

    // The real command, as an operator runs it: a second entry, the token on stdout.
    const cli = new URL('../../src/cli.ts', import.meta.url).pathname;
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
    const child = spawn(
      process.execPath,
      [
        '--import',
        tsx,
        cli,
        'tokens',
        'add',
        '--role',
        'consumer',
        '--node-id',
        'buyer-9',
        '--domain',
        'buyer.example',
        '--tokens',
        file,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(0);
    const second = out.trim();
    expect(second.split('\n')).toHaveLength(1);
    expect(readTokens(file)).toHaveLength(2);

    const hub = await startHub({ tokens: readTokens(file) });
    expect((await hub.api('GET', '/api/v2/whoami', token)).body.identity.NodeID).toBe('edge-1');
    expect((await hub.api('GET', '/api/v2/whoami', second)).body.role).toBe('consumer');
  });
});
