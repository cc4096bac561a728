/**
 * The baselines, each doing the least work that produces the same bytes:
 * - `fastify`: GET /api/v2/flavors/k8slices answers each query with the hub's own answer to
 *   it and the hub's headers (P1: the same requests, the same bytes); POST /post validates a
 *   small JSON body and answers a small JSON (P2). POST /durable (P2's floor, with `db`) does
 *   the same and also commits one row through the hub's own store before answering: what one
 *   durable request costs here, with nothing of the hub's domain around it. With a sale sample,
 *   the sale floors (saleFloor) too.
 * - `ws`: a raw ws server (P3, P5, P6). POST /fire-corked is the best it can do (P3's baseline):
 *   the body framed once, written to every TCP socket, each socket corked until the end of the
 *   event-loop turn as the hub does. POST /fire-framed frames once and writes at once (P5's
 *   floor, one event at a time). POST /fire is the naive broadcast, `ws.send` per client.
 * - `socketio`: a Socket.IO server (websocket transport, no compression); POST /fire emits
 *   the parsed body to every client (P4).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { Server as SocketIOServer } from 'socket.io';
import { WebSocketServer } from 'ws';
import type { Duplex } from 'node:stream';
import type * as StoreModule from '../../../src/store/store-sqlite.js';
import type * as FrameModule from '../../../src/ws/frame.js';
import type * as HeadersModule from '../../../src/http/headers.js';
import type {
  StoredContract,
  StoredEvent,
  StoredFlavor,
  StoredTransaction,
} from '../../../src/store/store.js';
import { buyerOf } from '../lib/buyers.js';
import { signedContract, unsignedContract } from '../lib/floor-signing.js';
import { serve } from '../lib/proc.js';
import { profileMessages } from '../lib/window-profiler.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as {
  kind: 'fastify' | 'ws' | 'socketio';
  /**
   * A JSON object of the hub's LIST answers by query string (lib/lists.ts hubAnswers): turns
   * on GET /api/v2/flavors/k8slices, which answers each query with the hub's own answer.
   */
  answersFile?: string;
  /** A SQLite file for POST /durable and the sale floor. */
  db?: string;
  /** The rows of one of the hub's sales (servers/hub.ts `sample`): turns the sale floor on. */
  sale?: SaleSample;
  /**
   * µs of busy-waiting the sale floor's routes add to each request, before its commit: the
   * floor with the hub's event-loop time and none of its work (scripts/bench/floor-spin.ts).
   */
  spinUs?: number;
};

interface SaleSample {
  transaction: StoredTransaction;
  contract: StoredContract;
  flavor: StoredFlavor;
  events: StoredEvent[];
}

function readBody(req: import('node:http').IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
  });
}

const bodySchema = {
  type: 'object',
  required: ['FlavorID'],
  additionalProperties: false,
  properties: {
    FlavorID: { type: 'string', maxLength: 64 },
    Configuration: { type: 'object' },
  },
} as const;

let saleCount = 0;
let saleSeq = 0;
const spinNs = BigInt(Math.round((opts.spinUs ?? 0) * 1000));

/**
 * Holds the event loop for `spinUs`, as the hub's own work on a request would. Without a spin
 * it is an empty function, which V8 inlines away: the floor itself does no more than before.
 */
const spin =
  spinNs === 0n
    ? () => {}
    : () => {
        const end = process.hrtime.bigint() + spinNs;
        while (process.hrtime.bigint() < end);
      };

/**
 * The sale floor: the hub's two sale routes doing the least work that produces the same
 * bytes — the same requests, answers of the same size with the same headers (the hub's
 * security headers and a request id), and the same rows committed durably
 * through the hub's own store (a held transaction; then its purchase: the transaction's new
 * status, the contract, the flavor's new row and the sale's two events) — with none of the
 * hub's authentication, bookkeeping or serialization. The contract it stores and answers is
 * signed as the hub's are (§12: Ed25519 over the contract's JSON, a compact JWS), on the hub's
 * own signing thread, a turn's contracts in one batch (src/domain/signing-thread.ts): a
 * signature is part of the bytes, and no cheaper way makes it. Under /unsigned the purchase
 * stores and answers the sample's contract as it is (the floor before §12); under /small it
 * commits only the transaction's new status: what the stored bytes take.
 */
function saleFloor(
  app: FastifyInstance,
  store: StoreModule.SqliteStore,
  sample: SaleSample,
  prefix: string,
  mode: 'signed' | 'unsigned' | 'small',
): void {
  const { transaction: tx, contract, flavor, events } = sample;
  const unsigned = unsignedContract(contract.json);
  const txAnswer = `${tx.json.slice(0, -1)},"Status":"reserved"}`;
  // Ids of the sample's length, so rows and answers keep their size.
  const id = (template: string, n: number) =>
    template.slice(0, template.length - 10) + String(n).padStart(10, '0');
  app.post(
    `${prefix}/api/v2/reservations`,
    { schema: { body: bodySchema } },
    async (req, reply) => {
      spin();
      const txId = id(tx.transactionId, ++saleCount);
      await store.commit({
        transactions: [{ ...tx, transactionId: txId, buyerId: buyerOf(req.headers.authorization) }],
      });
      return reply
        .type('application/json; charset=utf-8')
        .send(txAnswer.replace(tx.transactionId, txId));
    },
  );
  app.post<{ Params: { id: string } }>(
    `${prefix}/api/v2/transactions/:id/purchase`,
    async (req, reply) => {
      const txId = req.params.id;
      spin();
      const k = ++saleCount;
      const status = { ...tx, transactionId: txId, status: 'purchased' } as const;
      if (mode === 'small') {
        await store.commit({ transactions: [status] });
        return reply.type('application/json; charset=utf-8').send(contract.json);
      }
      const contractId = id(contract.contractId, k);
      const json =
        mode === 'signed'
          ? await signedContract(unsigned.replace(contract.contractId, contractId))
          : contract.json;
      const buyerId = buyerOf(req.headers.authorization);
      await store.commit({
        flavors: [{ ...flavor, flavorId: id(flavor.flavorId, k % 500) }],
        transactions: [status],
        contracts: [{ ...contract, contractId, transactionId: txId, json, buyerId }],
        events: events.map((e) => ({ ...e, seq: ++saleSeq, ...(e.buyerId ? { buyerId } : {}) })),
      });
      return reply.type('application/json; charset=utf-8').send(json);
    },
  );
}

let url: string;
let clients = () => 0;
if (opts.kind === 'fastify') {
  const app = Fastify({ logger: false });
  // The hub's answers carry its security headers and a request id: the baseline's carry the
  // same, set the cheapest way (one hook, headers chosen once), so the bytes match.
  const { securityHeaders } = (await import(
    new URL('../../../dist/src/http/headers.js', import.meta.url).href
  )) as typeof HeadersModule;
  const security = await securityHeaders();
  let requests = 0;
  const likeTheHub = (scope: FastifyInstance) =>
    scope.addHook('onRequest', (_req, reply, done) => {
      reply.headers(security);
      reply.header('request-id', `base-${(++requests).toString(36)}`);
      done();
    });
  if (opts.answersFile) {
    const answers = new Map(
      Object.entries(JSON.parse(readFileSync(opts.answersFile, 'utf8')) as Record<string, string>),
    );
    await app.register(async (scope) => {
      likeTheHub(scope);
      // A plain handler, as the hub's LIST is: no promise per request.
      scope.get('/api/v2/flavors/k8slices', (req, reply) => {
        const body = answers.get(req.url.slice(req.url.indexOf('?') + 1));
        if (body === undefined) reply.code(404).send();
        else reply.type('application/json; charset=utf-8').send(body);
      });
    });
  }
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
    const sale = opts.sale;
    if (sale) {
      await app.register(async (scope) => {
        likeTheHub(scope);
        saleFloor(scope, store, sale, '', 'signed');
        saleFloor(scope, store, sale, '/unsigned', 'unsigned');
        saleFloor(scope, store, sale, '/small', 'small');
      });
    }
  }
  url = await app.listen({ host: '127.0.0.1', port: 0 });
} else if (opts.kind === 'ws') {
  const { textFrame } = (await import(
    new URL('../../../dist/src/ws/frame.js', import.meta.url).href
  )) as typeof FrameModule;
  // The sockets corked in this event-loop turn, all of them: every event fired in the turn
  // is written to each, and each leaves in one write when the turn ends.
  let corked: Duplex[] | undefined;
  const release = () => {
    const sockets = corked as Duplex[];
    corked = undefined;
    for (const tcp of sockets) tcp.uncork();
  };
  const server = createServer(async (req, res) => {
    const payload = await readBody(req);
    if (req.url === '/fire-corked') {
      const frame = textFrame(payload.toString());
      if (!corked) {
        corked = [];
        for (const c of wss.clients) {
          const tcp = (c as unknown as { _socket: Duplex })._socket;
          tcp.cork();
          corked.push(tcp);
        }
        setImmediate(release);
      }
      for (const tcp of corked) tcp.write(frame);
    } else if (req.url === '/fire-framed') {
      // The least work that sends these bytes: framed once, the same buffer to every socket.
      const frame = textFrame(payload.toString());
      for (const c of wss.clients) (c as unknown as { _socket: Duplex })._socket.write(frame);
    } else {
      for (const c of wss.clients) c.send(payload, { binary: false });
    }
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

// Profiles only the window the orchestrator asks for (profile.ts push-raw).
const profiling = profileMessages();
serve(async (msg) => {
  const profiled = profiling(msg);
  if (profiled) return profiled;
  if (msg.type === 'mem') {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((res) => setTimeout(res, 200));
    (globalThis as { gc?: () => void }).gc?.();
    return { mem: process.memoryUsage(), clients: clients() };
  }
  if (msg.type === 'cpu') return { cpu: process.cpuUsage(), at: performance.now() };
  return {};
});
process.send?.({ type: 'ready', url });
process.on('SIGTERM', () => process.exit(0));
