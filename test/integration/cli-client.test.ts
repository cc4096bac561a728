/**
 * The `rear-hub` client commands as a user runs them (a real process) against a real hub on
 * port 0: tables and --json, exit codes by class of error, watch's JSON lines, and publish
 * of 1,000 offers through the rate limit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/output.js';
import { hubsClosedAfterEach, k8slice, sleep, type TestHub } from '../helpers/hub.js';

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
const P = 'tok-provider-a';
const C0 = 'tok-consumer-0';
const C1 = 'tok-consumer-1';

const hubs = hubsClosedAfterEach();
let dirs: string[] = [];
let children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  children = [];
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function start(hub: TestHub | string, token: string | undefined, args: string[]): Run {
  const url = typeof hub === 'string' ? hub : hub.url;
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    env: { ...process.env, REAR_URL: url, ...(token ? { REAR_TOKEN: token } : { REAR_TOKEN: '' }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Runs the command to its exit; one that has not exited within ms fails with what it printed. */
async function run(hub: TestHub | string, token: string | undefined, args: string[], ms = 75_000) {
  const r = start(hub, token, args);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `rear-hub ${args.join(' ')} has not exited after ${ms} ms; stdout: ${r.stdout()}; stderr: ${r.stderr()}`,
          ),
        ),
      ms,
    );
  });
  try {
    const code = await Promise.race([r.exit, late]);
    return { code, stdout: r.stdout(), stderr: r.stderr() };
  } finally {
    clearTimeout(timer);
  }
}

async function lineMatching(r: Run, pred: (line: any) => boolean, ms = 15_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    for (const l of r.stdout().split('\n')) {
      if (!l.startsWith('{')) continue;
      const parsed = JSON.parse(l);
      if (pred(parsed)) return parsed;
    }
    if (Date.now() > end || r.child.exitCode !== null)
      throw new Error(`no such line; stdout: ${r.stdout()} stderr: ${r.stderr()}`);
    await sleep(50);
  }
}

function tempFile(name: string, content: unknown): string {
  const d = mkdtempSync(join(tmpdir(), 'rear-cli-client-'));
  dirs.push(d);
  const path = join(d, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

describe('rear-hub client commands', { timeout: 90_000 }, () => {
  it('flavors list|get: a table by default, the hub JSON with --json; filters become the selector', async () => {
    const hub = await hubs();
    const small = (await hub.api('POST', '/api/v2/flavors', P, k8slice({ cpu: '2' }))).body;
    const big = (await hub.api('POST', '/api/v2/flavors', P, k8slice({ cpu: '16' }))).body;

    const table = await run(hub, C0, ['flavors', 'list']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TYPE\s+PROVIDER\s+PRICE\s+EXPIRES\s+OFFER$/);
    expect(lines).toHaveLength(3);
    expect(table.stdout).toContain('16 CPU');

    const json = await run(hub, C0, [
      '--json',
      'flavors',
      'list',
      '--type',
      'k8slice',
      '--filter',
      'cpu.min=8',
      '--filter',
      'architecture.match=amd64',
    ]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).map((f: any) => f.flavorId)).toEqual([big.flavorId]);

    const one = await run(hub, C0, ['flavors', 'get', small.flavorId, '--json']);
    expect(JSON.parse(one.stdout)).toMatchObject({
      flavorId: small.flavorId,
      providerId: 'prov-a',
    });
  });

  it('exits with the code of the class of error, its code on stderr and (--json) the body on stdout', async () => {
    const hub = await hubs();
    const f = (await hub.api('POST', '/api/v2/flavors', P, k8slice())).body;
    await hub.api('POST', '/api/v2/reservations', C1, { FlavorID: f.flavorId });

    const missing = await run(hub, C0, ['--json', 'flavors', 'get', 'fl-none']);
    expect(missing.code).toBe(EXIT.NOT_FOUND);
    expect(missing.stderr).toContain('FLAVOR_NOT_FOUND');
    expect(JSON.parse(missing.stdout)).toMatchObject({ statusCode: 404, code: 'FLAVOR_NOT_FOUND' });

    const unknown = await run(hub, 'wrong', ['contracts']);
    expect(unknown.code).toBe(EXIT.AUTH);
    expect(unknown.stderr).toContain('UNAUTHORIZED');

    const forbidden = await run(hub, C0, ['withdraw', f.flavorId]);
    expect(forbidden.code).toBe(EXIT.AUTH);
    expect(forbidden.stderr).toContain('FORBIDDEN');

    const held = await run(hub, C0, ['reserve', f.flavorId, '--wait', '0']);
    expect(held.code).toBe(EXIT.CONFLICT);
    expect(held.stderr).toContain('FLAVOR_RESERVED');

    const selector = await run(hub, C0, [
      'flavors',
      'list',
      '--type',
      'k8slice',
      '--filter',
      'cpu.match=lots',
    ]);
    expect(selector.code).toBe(EXIT.INVALID);
    expect(selector.stderr).toContain('INVALID_SELECTOR');

    const usage = await run(hub, C0, ['flavors', 'list', '--filter', 'cpu']);
    expect(usage.code).toBe(EXIT.USAGE);
    const noToken = await run(hub, undefined, ['contracts']);
    expect(noToken.code).toBe(EXIT.USAGE);
    expect(noToken.stderr).toContain('REAR_TOKEN');
    const unknownCommand = await run(hub, C0, ['flavors', 'sell']);
    expect(unknownCommand.code).toBe(EXIT.USAGE);

    // Nothing listens there any more.
    const gone = await hubs();
    const url = gone.url;
    await gone.close();
    const down = await run(url, C0, ['flavors', 'list']);
    expect(down.code).toBe(EXIT.CONNECTION);
    expect(down.stderr).toContain('CONNECTION_FAILED');
  });

  it('keys rotate is wired into the command (§12)', async () => {
    const hub = await hubs();
    const before = (await hub.api('GET', '/api/v2/keys')).body.keys.map((k: any) => k.kid);
    const r = await run(hub, undefined, ['--json', 'keys', 'rotate', '--db', hub.dbPath]);
    expect(r.code).toBe(0);
    const rotated = JSON.parse(r.stdout);
    expect(rotated.kids).toEqual(expect.arrayContaining(before));
    expect(rotated.kids.length).toBe(before.length + 1);
  });

  it('reserve → purchase → contracts, cancel, refresh and withdraw, with --json', async () => {
    const hub = await hubs();
    const a = (await hub.api('POST', '/api/v2/flavors', P, k8slice())).body;
    const b = (await hub.api('POST', '/api/v2/flavors', P, k8slice({}, {}))).body;

    const tx = JSON.parse(
      (await run(hub, C0, ['--json', 'reserve', a.flavorId, '--wait', '5'])).stdout,
    );
    expect(tx).toMatchObject({ FlavorID: a.flavorId, Status: 'reserved' });
    const contract = JSON.parse(
      (await run(hub, C0, ['--json', 'purchase', tx.TransactionID])).stdout,
    );
    expect(contract.TransactionID).toBe(tx.TransactionID);
    const listed = await run(hub, C0, ['contracts']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(contract.ContractID);
    // Each contract's Signature is checked against the hub's published keys (§12).
    const kid = JSON.parse(
      Buffer.from(contract.Signature.split('.')[0], 'base64url').toString(),
    ).kid;
    expect(listed.stdout).toContain(`verified (${kid})`);
    const one = await run(hub, C0, ['contracts', contract.ContractID]);
    expect(one.stdout).toMatch(new RegExp(`Signature: +verified \\(${kid}\\)`));

    const part = await run(hub, C0, [
      '--json',
      'reserve',
      b.flavorId,
      '--config',
      '{"type":"k8slice","data":{"cpu":"1","memory":"1Gi","pods":"10"}}',
    ]);
    const held = JSON.parse(part.stdout);
    expect(held.Configuration.data.cpu).toBe('1');
    const cancelled = await run(hub, C0, ['--json', 'cancel', held.TransactionID]);
    expect(JSON.parse(cancelled.stdout).Status).toBe('cancelled');

    const refreshed = await run(hub, P, [
      '--json',
      'refresh',
      b.flavorId,
      '--price',
      '0.42',
      '--ttl',
      '600',
    ]);
    expect(JSON.parse(refreshed.stdout).price).toEqual({
      amount: '0.42',
      currency: 'EUR',
      period: 'hour',
    });
    const withdrawn = await run(hub, P, ['withdraw', b.flavorId, '--reason', 'maintenance']);
    expect(withdrawn.code).toBe(0);
    expect(withdrawn.stdout).toContain(`${b.flavorId} withdrawn: maintenance`);
    expect((await hub.api('GET', `/api/v2/flavors/${b.flavorId}`, C0)).status).toBe(404);
  });

  it('watch --json prints one JSON line per event and exits 0 on Ctrl-C; --flavor ends with the withdrawal', async () => {
    const hub = await hubs();
    const a = (await hub.api('POST', '/api/v2/flavors', P, k8slice())).body;
    const all = start(hub, C0, ['watch', '--json', '--selector', '{"type":"k8slice"}']);
    const one = start(hub, C0, ['--json', 'watch', '--flavor', a.flavorId]);
    const first = await lineMatching(all, (l) => l.type === 'SUBSCRIBED');
    expect(first.flavors.map((f: any) => f.flavorId)).toEqual([a.flavorId]);
    await lineMatching(one, (l) => l.type === 'SUBSCRIBED');
    const b = (await hub.api('POST', '/api/v2/flavors', P, k8slice())).body;
    await lineMatching(all, (l) => l.type === 'FLAVOR_ADDED' && l.flavorId === b.flavorId);
    await hub.api('POST', `/api/v2/flavors/${a.flavorId}/withdraw`, P, {
      Reason: { Message: 'bye' },
    });
    const w = await lineMatching(one, (l) => l.type === 'WITHDRAW_FLAVOR');
    expect(w.Reason).toEqual({ Message: 'bye', Code: 'operator' });
    expect(await one.exit).toBe(0);
    await lineMatching(all, (l) => l.type === 'WITHDRAW_FLAVOR' && l.flavorId === a.flavorId);
    // Every stdout line is one JSON object.
    for (const l of all.stdout().trim().split('\n')) expect(() => JSON.parse(l)).not.toThrow();
    all.child.kill('SIGINT');
    expect(await all.exit).toBe(0);
  });

  it('publish of 1,000 offers through the rate limit ends with all 1,000 published', async () => {
    const hub = await hubs({ rateLimit: { perSecond: 50, burst: 20 } });
    const offers = Array.from({ length: 1000 }, (_, i) => k8slice({ cpu: String(1 + (i % 16)) }));
    const file = tempFile('offers.json', offers);
    const r = await run(hub, P, ['publish', file]);
    expect(r.stderr).toContain('published 1000 of 1000 offer(s)');
    expect(r.stderr).toMatch(/\d+ request\(s\) retried after 429/);
    expect(r.code).toBe(0);
    const listed = await hub.api('GET', '/api/v2/flavors', P);
    expect(listed.body).toHaveLength(1000);

    const bad = tempFile('bad.json', [k8slice(), { type: { name: 'k8slice' } }]);
    const partial = await run(hub, P, ['--json', 'publish', bad]);
    expect(partial.code).toBe(EXIT.INVALID);
    expect(partial.stderr).toContain('offer 1: INVALID_REQUEST');
    expect(JSON.parse(partial.stdout)).toHaveLength(1);
  });
});
