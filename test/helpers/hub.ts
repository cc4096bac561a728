/** Builds the real hub on a temporary SQLite file, listening on 127.0.0.1:0, for integration tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { buildApp, type AppOptions } from '../../src/app.js';
import type { FlavorPublish, TokenEntry } from '../../src/types/wire.js';

export interface TestHub {
  app: FastifyInstance;
  url: string;
  wsUrl: string;
  dbPath: string;
  tokens: Record<string, string>;
  entries: TokenEntry[];
  api(
    method: string,
    path: string,
    token?: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export function makeTokens(consumers = 3): TokenEntry[] {
  const entries: TokenEntry[] = [
    {
      token: 'tok-provider-a',
      role: 'provider',
      identity: { Domain: 'a.test', NodeID: 'prov-a', IP: '10.0.0.1' },
    },
    {
      token: 'tok-provider-b',
      role: 'provider',
      identity: { Domain: 'b.test', NodeID: 'prov-b', IP: '10.0.0.2' },
    },
    {
      token: 'tok-admin-xyz',
      role: 'admin',
      identity: { Domain: 'hub.test', NodeID: 'admin', IP: '127.0.0.1' },
    },
  ];
  for (let i = 0; i < consumers; i++) {
    entries.push({
      token: `tok-consumer-${i}`,
      role: 'consumer',
      identity: { Domain: `c${i}.test`, NodeID: `cons-${i}`, IP: `10.1.0.${i % 250}` },
    });
  }
  return entries;
}

export function tempDbPath(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rear-hub-test-'));
  return { dir, path: join(dir, 'hub.db') };
}

export async function startHub(
  options: Partial<AppOptions> & { consumers?: number; dbPath?: string } = {},
): Promise<TestHub> {
  const owned = options.dbPath ? undefined : tempDbPath();
  const dbPath = options.dbPath ?? (owned as { path: string }).path;
  const entries = options.tokens ? [...options.tokens] : makeTokens(options.consumers ?? 3);
  const app = await buildApp({
    rateLimit: { perSecond: 0 },
    shutdownGraceMs: 500,
    ...options,
    db: dbPath,
    tokens: entries,
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const tokens: Record<string, string> = {};
  for (const e of entries) if ('token' in e) tokens[e.identity.NodeID] = e.token;
  let closed = false;
  return {
    app,
    url: address,
    wsUrl: `${address.replace(/^http/, 'ws')}/api/v2/subscriptions`,
    dbPath,
    tokens,
    entries,
    api: (method, path, token, body, headers = {}) =>
      request(address, method, path, token, body, headers),
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      if (owned) rmSync(owned.dir, { recursive: true, force: true });
    },
  };
}

export async function request(
  base: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const h: Record<string, string> = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + path, {
    method,
    headers: h,
    ...(payload !== undefined ? { body: payload } : {}),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: the test looks at `text`.
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

export const k8slice = (
  over: Partial<{
    cpu: string;
    memory: string;
    pods: string;
    architecture: string;
    storage: string;
  }> = {},
  partition?: Record<string, string>,
): FlavorPublish => ({
  type: {
    name: 'k8slice',
    data: {
      characteristics: { cpu: '4', memory: '8Gi', pods: '110', architecture: 'amd64', ...over },
      ...(partition
        ? {
            policies: {
              partitionability: {
                cpuMin: '1',
                memoryMin: '1Gi',
                podsMin: '10',
                cpuStep: '1',
                memoryStep: '1Gi',
                podsStep: '10',
                ...partition,
              },
            },
          }
        : {}),
    },
  },
  price: { amount: '1.00', currency: 'EUR', period: 'hour' },
});

/** A WebSocket client that queues every JSON message it receives. */
export class WsClient {
  readonly messages: any[] = [];
  private waiters: Array<() => void> = [];
  closeCode: number | undefined;
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()));
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', (code) => {
      this.closeCode = code;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static open(url: string, token?: string, query = false): Promise<WsClient> {
    const target = query && token ? `${url}?access_token=${encodeURIComponent(token)}` : url;
    const socket = new WebSocket(
      target,
      token && !query ? { headers: { authorization: `Bearer ${token}` } } : {},
    );
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new WsClient(socket)));
      socket.once('unexpected-response', (_req, res) =>
        reject(new Error(`upgrade refused: ${res.statusCode}`)),
      );
      socket.once('error', reject);
    });
  }

  send(msg: unknown): void {
    this.socket.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Waits until a message satisfies pred (searching from index `from`) and returns it. */
  async next(pred: (m: any) => boolean, timeoutMs = 5000, from = 0): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(pred);
      if (found) return found;
      if (this.closeCode !== undefined)
        throw new Error(`socket closed (${this.closeCode}) before the message arrived`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ${JSON.stringify(this.messages.slice(-5))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async closed(timeoutMs = 5000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.closeCode === undefined) {
      if (Date.now() > deadline) throw new Error('socket did not close');
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closeCode;
  }

  close(): void {
    this.socket.terminate();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Hubs started through the returned function are closed after each test of the file that
 * calls this (at module level).
 */
export function hubsClosedAfterEach(): (opts?: Parameters<typeof startHub>[0]) => Promise<TestHub> {
  let hubs: TestHub[] = [];
  afterEach(async () => {
    for (const h of hubs) await h.close();
    hubs = [];
  });
  return async (opts = {}) => {
    const h = await startHub(opts);
    hubs.push(h);
    return h;
  };
}
