/**
 * The baselines, each doing the least work that produces the same bytes:
 * - `fastify`: GET /list answers a fixed pre-serialized JSON body (P1); POST /post validates a
 *   small JSON body and answers a small JSON (P2).
 * - `ws`: a raw ws server; POST /fire broadcasts its body, one buffer to every client (P3, P6).
 * - `socketio`: a Socket.IO server (websocket transport, no compression); POST /fire emits
 *   the parsed body to every client (P4).
 */
import { createServer } from 'node:http';
import Fastify from 'fastify';
import { Server as SocketIOServer } from 'socket.io';
import { WebSocketServer } from 'ws';
import { serve } from '../lib/proc.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as {
  kind: 'fastify' | 'ws' | 'socketio';
  body?: string;
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
  app.get('/list', async (_req, reply) => reply.type('application/json; charset=utf-8').send(body));
  app.post(
    '/post',
    {
      schema: {
        body: {
          type: 'object',
          required: ['FlavorID'],
          additionalProperties: false,
          properties: {
            FlavorID: { type: 'string', maxLength: 64 },
            Configuration: { type: 'object' },
          },
        },
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
