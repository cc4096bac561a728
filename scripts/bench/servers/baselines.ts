/**
 * The baselines, each doing the least work that produces the same bytes:
 * - `fastify`: GET /list answers a fixed pre-serialized JSON body (P1); POST /post validates a
 *   small JSON body and answers a small JSON (P2). POST /durable (P2's floor, with `db`) does
 *   the same and also commits one row through the hub's own store before answering: what one
 *   durable request costs here, with nothing of the hub's domain around it.
 * - `ws`: a raw ws server; POST /fire broadcasts its body, one buffer to every client (P3, P6).
 * - `socketio`: a Socket.IO server (websocket transport, no compression); POST /fire emits
 *   the parsed body to every client (P4).
 */
import { createServer } from 'node:http';
import Fastify from 'fastify';
import { Server as SocketIOServer } from 'socket.io';
import { WebSocketServer } from 'ws';
import type * as StoreModule from '../../../src/store/store-sqlite.js';
import { serve } from '../lib/proc.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as {
  kind: 'fastify' | 'ws' | 'socketio';
  body?: string;
  /** A SQLite file for POST /durable. */
  db?: string;
};

function readBody(req: import('node:http').IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
  });
}

let url: string;
let clients = () => 0;
if (opts.kind === 'fastify') {
  const app = Fastify({ logger: false });
  const body = opts.body ?? '[]';
  const bodySchema = {
    type: 'object',
    required: ['FlavorID'],
    additionalProperties: false,
    properties: {
      FlavorID: { type: 'string', maxLength: 64 },
      Configuration: { type: 'object' },
    },
  };
  app.get('/list', async (_req, reply) => reply.type('application/json; charset=utf-8').send(body));
  app.post(
    '/post',
    {
      schema: {
        body: bodySchema,
        response: {
          200: {
            type: 'object',
            properties: { ok: { type: 'boolean' }, FlavorID: { type: 'string' } },
          },
        },
      },
    },
    async (req) => ({ ok: true, FlavorID: (req.body as { FlavorID: string }).FlavorID }),
  );
  if (opts.db) {
    // The hub's store as it ships (tsc build): writer thread, group commit, synchronous=FULL.
    const { SqliteStore } = (await import(
      new URL('../../../dist/src/store/store-sqlite.js', import.meta.url).href
    )) as typeof StoreModule;
    const store = new SqliteStore(opts.db);
    let n = 0;
    app.post('/durable', { schema: { body: bodySchema } }, async (req, reply) => {
      const { FlavorID } = req.body as { FlavorID: string };
      const id = `tx-${process.pid}-${++n}`;
      const json = JSON.stringify({ TransactionID: id, ...(req.body as object) });
      await store.commit({
        transactions: [
          {
            transactionId: id,
            flavorId: FlavorID,
            buyerId: 'b',
            status: 'reserved',
            expiresAt: 0,
            json,
          },
        ],
      });
      return reply.type('application/json').send(json);
    });
  }
  url = await app.listen({ host: '127.0.0.1', port: 0 });
} else if (opts.kind === 'ws') {
  const server = createServer(async (req, res) => {
    const payload = await readBody(req);
    for (const c of wss.clients) c.send(payload, { binary: false });
    res.end('{}');
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  clients = () => wss.clients.size;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
} else {
  const server = createServer();
  const io = new SocketIOServer(server, {
    transports: ['websocket'],
    perMessageDeflate: false,
    serveClient: false,
  });
  server.on('request', async (req, res) => {
    if (req.url?.startsWith('/socket.io')) return;
    const payload = await readBody(req);
    io.emit('refresh', JSON.parse(payload.toString()));
    res.end('{}');
  });
  clients = () => io.engine.clientsCount;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

serve(async (msg) => {
  if (msg.type === 'mem') {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((res) => setTimeout(res, 200));
    (globalThis as { gc?: () => void }).gc?.();
    return { mem: process.memoryUsage(), clients: clients() };
  }
  return {};
});
process.send?.({ type: 'ready', url });
process.on('SIGTERM', () => process.exit(0));
