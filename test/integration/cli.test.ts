/**
 * The entry point as a user runs it: flags and environment, --help, the `listening` log line
 * with its url, and a graceful exit 0 on SIGTERM and SIGINT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTokens, WsClient } from '../helpers/hub.js';

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;
// Resolved here, so the CLI can start from any working directory.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function run(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: cwd ?? process.cwd(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  return { child, out: () => text };
}

async function listening(out: () => string, child: ChildProcess): Promise<string> {
  const end = Date.now() + 15_000;
  while (Date.now() < end) {
    for (const line of out().split('\n')) {
      if (!line.startsWith('{')) continue;
      const rec = JSON.parse(line) as { msg?: string; url?: string };
      if (rec.msg === 'listening' && rec.url) return rec.url;
    }
    if (child.exitCode !== null) throw new Error(`exited early: ${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no listening line: ${out()}`);
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rear-cli-'));
  dirs.push(d);
  return d;
}

describe('rear-hub serve', () => {
  it('--help lists every flag with its environment variable', async () => {
    const { child, out } = run(['--help']);
    expect(await exited(child)).toBe(0);
    for (const s of [
      '--host',
      'REAR_HOST',
      '--port',
      'REAR_PORT',
      '--db',
      'REAR_DB',
      '--tokens',
      'REAR_TOKENS',
      '--ttp',
      'REAR_TTP',
      '--flavor-ttl',
      'REAR_FLAVOR_TTL',
      '--demo',
      'REAR_DEMO',
    ]) {
      expect(out()).toContain(s);
    }
  });

  it('rejects a bad flag with exit 2 and the help', async () => {
    const { child, out } = run(['--port', 'many']);
    expect(await exited(child)).toBe(2);
    expect(out()).toContain('--port');
  });

  it('starts from flags and environment, logs `listening` with its url, serves, and exits 0 on SIGTERM', async () => {
    const dir = tempDir();
    const tokens = join(dir, 'tokens.json');
    writeFileSync(tokens, JSON.stringify(makeTokens(1)));
    const { child, out } = run(['serve', '--port', '0', '--tokens', tokens, '--ttp', '5'], {
      REAR_DB: join(dir, 'hub.db'),
    });
    const url = await listening(out, child);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok', store: 'sqlite' });
    // With --tokens and no --demo, the catalog starts empty.
    const list = await fetch(`${url}/api/v2/flavors`, {
      headers: { authorization: 'Bearer tok-consumer-0' },
    });
    expect(await list.json()).toEqual([]);
    const ws = await WsClient.open(
      `${url.replace('http', 'ws')}/api/v2/subscriptions`,
      'tok-consumer-0',
    );
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(await ws.closed()).toBe(1001);
  });

  it('on its defaults (no tokens file) writes demo tokens under ./data, seeds the demo catalog and exits 0 on SIGINT', async () => {
    const dir = tempDir();
    const { child, out } = run(['--port', '0'], {}, dir);
    const url = await listening(out, child);
    expect(out()).toContain('#token=');
    const tokens = JSON.parse(readFileSync(join(dir, 'data', 'tokens.json'), 'utf8')) as Array<{
      token: string;
      role: string;
    }>;
    const consumer = tokens.find((t) => t.role === 'consumer') as { token: string };
    const list = (await (
      await fetch(`${url}/api/v2/flavors`, {
        headers: { authorization: `Bearer ${consumer.token}` },
      })
    ).json()) as unknown[];
    expect(list.length).toBeGreaterThanOrEqual(40);
    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
  });
});
