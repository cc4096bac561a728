/**
 * The hub as a user runs it: `rear-hub serve` in its own process (tsx over src/cli.ts, no
 * build needed), for tests that kill it (SIGKILL), restart it, or run several on one
 * database. Resolves once the `listening` log line names its url.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { FlavorPublish } from '../../src/types/wire.js';
import { k8slice, request, type ApiResponse } from './hub.js';

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;
// Resolved here, so the hub can start from any working directory.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
/** How much of a hub's recent output is kept for error messages. */
const KEEP_CHARS = 64 * 1024;

export interface HubProcessOptions {
  /** `--db`: a SQLite file or a `postgres://` URL. */
  db: string;
  /** `--tokens`: a tokens file (so no demo catalog). */
  tokens: string;
  /** More flags, e.g. `['--ttp', '2']`. `--rate-limit 0` is the default here. */
  args?: string[];
  env?: Record<string, string>;
  /** How long to wait for the `listening` line (default 30 s: tsx compiles on start). */
  timeoutMs?: number;
}

export interface HubProcess {
  child: ChildProcess;
  pid: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `ws://127.0.0.1:<port>/api/v2/subscriptions` */
  wsUrl: string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last 64 KiB of its stdout and stderr. */
  output(): string;
  /** Sends the signal (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function spawnHub(options: HubProcessOptions): Promise<HubProcess> {
  const args = ['--port', '0', '--db', options.db, '--tokens', options.tokens];
  const extra = options.args ?? [];
  if (!extra.includes('--rate-limit')) args.push('--rate-limit', '0');
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'serve', ...args, ...extra], {
    env: { ...process.env, LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      r({ code, signal });
    }),
  );
  let out = '';
  let pending = '';
  let onLine: ((line: string) => void) | undefined;
  const take = (d: Buffer) => {
    const text = d.toString();
    out = (out + text).slice(-KEEP_CHARS);
    if (!onLine) return;
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine?.(line);
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);

  const url = await new Promise<string>((resolve, reject) => {
    const ms = options.timeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hub: no listening line within ${ms} ms:\n${out}`));
    }, ms);
    onLine = (line) => {
      if (!line.startsWith('{')) return;
      try {
        const rec = JSON.parse(line) as { msg?: string; url?: string };
        if (rec.msg === 'listening' && rec.url) {
          clearTimeout(timer);
          onLine = undefined;
          resolve(rec.url);
        }
      } catch {
        // Not a log record.
      }
    };
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`hub exited (${signal ?? code}) before listening:\n${out}`));
    });
  });
  return {
    child,
    pid: child.pid as number,
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/api/v2/subscriptions`,
    exited,
    output: () => out,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A request to a hub process's API (`/api/v2` + path). */
export function apiOf(
  h: HubProcess,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<ApiResponse> {
  return request(h.url, method, `/api/v2${path}`, token, body, headers);
}

/** Publishes through a hub process as `tok-provider-a` and returns the stored Flavor (201). */
export async function publishOn(h: HubProcess, body: FlavorPublish = k8slice()): Promise<any> {
  const r = await apiOf(h, 'POST', '/flavors', 'tok-provider-a', body);
  if (r.status !== 201) throw new Error(`publish answered ${r.status}: ${r.text}`);
  return r.body;
}
