/**
 * buildApp(options) builds the whole hub — store, domain core, REST routes and WebSocket
 * hub — and returns it ready but not listening. Tests build it exactly as production does;
 * only the entry point (cli.ts) listens.
 */
import websocket from '@fastify/websocket';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  type preValidationHookHandler,
} from 'fastify';
import { systemClock, type Clock } from './clock.js';
import { KEY_REFRESH_MS } from './domain/contract-signer.js';
import type { HistoryBound } from './domain/event-bus-memory.js';
import type { FatalHandler } from './domain/journal.js';
import { Market } from './domain/market.js';
import { HubError } from './errors.js';
import { registerApiDocs } from './http/api-docs.js';
import { authHook, TokenRegistry, type RateLimit } from './http/auth.js';
import { installErrorHandling } from './http/error-handler.js';
import { answerStamp, registerCors, requestIdGenerator, securityHeaders } from './http/headers.js';
import { JwtVerifier, type JwtOptions } from './http/jwt.js';
import { LazyCompilers } from './http/lazy-compilers.js';
import { HubMetrics } from './http/metrics.js';
import { ERROR_RESPONSES, ref } from './http/route-schemas.js';
import { contractRoutes } from './http/routes/contracts.js';
import { flavorRoutes } from './http/routes/flavors.js';
import { reservationRoutes } from './http/routes/reservations.js';
import { webRoutes } from './http/routes/web.js';
import { createAjv, loadSchemas } from './schemas.js';
import { openStore } from './store/index.js';
import type { TokenEntry } from './types/wire.js';
import { WsHub, type HubOptions } from './ws/hub.js';

export interface AppOptions {
  /** SQLite file, ':memory:', or a postgres:// URL (store/index.ts). */
  db: string;
  tokens: readonly TokenEntry[];
  ttpSeconds?: number;
  flavorTtlSeconds?: number;
  /** Bytes of LIST answers kept while the catalog does not change; 0 keeps none. */
  listCacheBytes?: number;
  contractDays?: number;
  clock?: Clock;
  logger?: FastifyServerOptions['logger'];
  history?: Partial<HistoryBound>;
  rateLimit?: Partial<RateLimit>;
  ws?: Partial<HubOptions>;
  /** How long close() lets in-flight requests finish before it cuts every connection. */
  shutdownGraceMs?: number;
  /** Called when the store fails a write; defaults to logging and closing the app. */
  onFatal?: FatalHandler;
  /** How often the contract keys are re-read from the store, ms (picks up a rotation). */
  keyRefreshMs?: number;
  /** Accept JWT bearer tokens signed by this identity provider's keys (§11). */
  jwt?: JwtOptions;
  /** Origins allowed by CORS (true: any); CORS is off when left out. */
  corsOrigin?: string[] | true;
  /** GET /metrics and the instruments behind it (default on). */
  metrics?: boolean;
  /** Connections to PostgreSQL for a postgres:// db (store-postgres.ts default: 10). */
  pgPoolSize?: number;
}

export const BODY_LIMIT = 1024 * 1024;
export const WS_MAX_PAYLOAD = 64 * 1024;

export const DEFAULTS = {
  ttpSeconds: 60,
  flavorTtlSeconds: 300,
  contractDays: 30,
  history: { maxEvents: 100_000, maxAgeMs: 15 * 60_000 },
  rateLimit: { perSecond: 200, burst: 400 },
  shutdownGraceMs: 5_000,
  ws: {
    pingIntervalMs: 30_000,
    maxBacklogBytes: 4 * 1024 * 1024,
    closeGraceMs: 5_000,
    maxSubscriptionsPerConnection: 1_000,
  },
} as const;

declare module 'fastify' {
  interface FastifyInstance {
    market: Market;
    hub: WsHub;
    /** Every route the hub serves, as registered (HEAD twins left out). */
    routeList: ReadonlyArray<{ method: string; url: string; hidden: boolean }>;
    /**
     * Compiles the route schemas not used yet (they compile on first use: http/lazy-compilers.ts);
     * with `spread`, one per event-loop turn. Rejects if one does not compile.
     */
    compileSchemas(spread?: boolean): Promise<void>;
  }
  interface FastifyContextConfig {
    /** The body may be left out; it then reads as {}. */
    optionalBody?: boolean;
  }
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const clock = options.clock ?? systemClock;
  const compilers = new LazyCompilers();
  const app = Fastify({
    logger: options.logger ?? false,
    genReqId: requestIdGenerator(),
    bodyLimit: BODY_LIMIT,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    // Requests that reach a route while the hub closes get UNAVAILABLE from the error table
    // (the hook below), not fastify's own 503 body.
    return503OnClosing: false,
    schemaController: compilers.schemaController(),
  });
  app.decorate('compileSchemas', (spread?: boolean) => compilers.compileAll(spread));
  const stamp = answerStamp(await securityHeaders());
  let closing = false;
  // The first hook, and one hook for both jobs (each hook is a step of its own on every
  // request): every answer is stamped, errors and 404s included; while the hub closes,
  // requests that reach a route get UNAVAILABLE from the error table.
  app.addHook('onRequest', (request, reply, done) => {
    stamp(request, reply);
    if ((request.raw as { upgrade?: boolean }).upgrade) closeUpgrade(request, reply);
    if (!closing) return done();
    done(new HubError('UNAVAILABLE', 'The hub is shutting down', { 'Retry-After': '1' }));
  });
  const routeList: Array<{ method: string; url: string; hidden: boolean }> = [];
  app.decorate('routeList', routeList);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      routeList.push({ method, url: route.url, hidden: Boolean(route.schema?.hide) });
    }
  });
  const metrics = options.metrics === false ? undefined : new HubMetrics();
  metrics?.instrumentRequests(app);
  // Opened before the rest is set up: the SQLite store's writer thread, which reads the
  // snapshot the market is rebuilt from, starts meanwhile instead of after.
  const store = await openStore(options.db, clock, {
    ...(metrics ? { observer: metrics.storeObserver } : {}),
    ...(options.pgPoolSize !== undefined ? { poolSize: options.pgPoolSize } : {}),
  });
  await registerCors(app, options.corsOrigin);

  const ajv = createAjv();
  for (const schema of loadSchemas()) app.addSchema(schema);
  app.setValidatorCompiler(compilers.validatorCompiler(({ schema }) => ajv.compile(schema)));

  // JSON bodies: an empty one reads as absent (optional bodies), bad JSON is INVALID_REQUEST.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new HubError('INVALID_REQUEST', 'The body is not valid JSON'), undefined);
    }
  });
  // Only routes whose body may be left out pay for reading an absent one as {}.
  app.addHook('onRoute', (route) => {
    if (!route.config?.optionalBody) return;
    const hook: preValidationHookHandler = (request, _reply, done) => {
      if (request.body === undefined) request.body = {};
      done();
    };
    route.preValidation = [hook, ...[route.preValidation ?? []].flat()];
  });
  installErrorHandling(app);
  // Learns every route added from here on: register before them.
  await registerApiDocs(app);

  const market = await Market.open({
    clock,
    store,
    ttpSeconds: options.ttpSeconds ?? DEFAULTS.ttpSeconds,
    flavorTtlSeconds: options.flavorTtlSeconds ?? DEFAULTS.flavorTtlSeconds,
    ...(options.listCacheBytes !== undefined ? { listCacheBytes: options.listCacheBytes } : {}),
    contractDays: options.contractDays ?? DEFAULTS.contractDays,
    history: { ...DEFAULTS.history, ...options.history },
    onFatal:
      options.onFatal ??
      ((err) => {
        app.log.fatal({ err }, 'store write failed; stopping');
        void app.close();
      }),
    log: app.log,
  });
  const hub = new WsHub(market, clock, { ...DEFAULTS.ws, ...options.ws });
  app.decorate('market', market);
  app.decorate('hub', hub);

  app.get(
    '/healthz',
    { schema: { response: { 200: ref('Health'), 503: ref('Health') } } },
    async (_request, reply) => {
      if (!store.healthy()) return reply.code(503).send({ status: 'unavailable' as const });
      return { status: 'ok' as const, store: store.kind };
    },
  );
  webRoutes(app);
  metrics?.install(app, market, hub);

  // §12: the contract keys, for anyone to verify a contract with (no token, like /healthz).
  app.get(
    '/api/v2/keys',
    { schema: { response: { 200: ref('JwkSet'), ...ERROR_RESPONSES } } },
    async () => market.signer.jwks(),
  );
  // A key added by `rear-hub keys rotate` (or another instance) signs here within this period.
  const keyRefresh = setInterval(() => {
    market.signer.refresh(store).catch((err: unknown) => {
      app.log.warn({ err }, 'could not re-read the contract keys');
    });
  }, options.keyRefreshMs ?? KEY_REFRESH_MS);
  keyRefresh.unref();

  const tokens = new TokenRegistry(options.tokens);
  const jwt = options.jwt ? new JwtVerifier(options.jwt, clock) : undefined;
  const authenticate = authHook(
    tokens,
    clock,
    { ...DEFAULTS.rateLimit, ...options.rateLimit },
    jwt,
  );
  await app.register(
    async (api) => {
      api.addHook('onRequest', authenticate);
      // While the store is out of reach (a shared store's database restarting), answer 503
      // rather than anything the market cannot vouch for; clients retry after Retry-After.
      if (store.kind === 'postgres') {
        api.addHook('onRequest', (_request, _reply, done) => {
          if (store.healthy()) return done();
          done(
            new HubError('UNAVAILABLE', 'The market store cannot be reached; try again', {
              'Retry-After': '1',
            }),
          );
        });
      }
      flavorRoutes(api, market);
      reservationRoutes(api, market);
      contractRoutes(api, market);
      api.get(
        '/whoami',
        { schema: { response: { 200: ref('Whoami'), ...ERROR_RESPONSES } } },
        async (request) => ({
          role: request.principal.role,
          identity: request.principal.identity,
        }),
      );
      // The WebSocket plugin in a scope of its own, around the one route that upgrades: its
      // two request hooks and its wrapper of every route's handler then cost that route only.
      // An upgrade asked of any other route is answered over HTTP (the first hook, closeUpgrade).
      await api.register(async (scope) => {
        await scope.register(websocket, {
          // No compression: fan-out writes frames built once straight to the socket (ws/frame.ts).
          options: { maxPayload: WS_MAX_PAYLOAD, perMessageDeflate: false },
          preClose(done) {
            closing = true;
            // Close clients with 1001 and answer waiting reservers before the server drains.
            hub.close();
            market.reservations.close();
            // In-flight requests get a grace period; a connection that never goes idle (a
            // client that vanished mid-request) must not hold the shutdown forever.
            const grace = setTimeout(
              () => app.server.closeAllConnections(),
              options.shutdownGraceMs ?? DEFAULTS.shutdownGraceMs,
            );
            grace.unref();
            app.server.once('close', () => clearTimeout(grace));
            done();
          },
        });
        scope.route({
          method: 'GET',
          url: '/subscriptions',
          config: { queryToken: true },
          schema: { response: ERROR_RESPONSES },
          handler: async () => {
            throw new HubError(
              'INVALID_REQUEST',
              'GET /api/v2/subscriptions must be a WebSocket upgrade',
            );
          },
          wsHandler: (socket, request) => hub.accept(socket, request.principal, request.raw),
        });
      });
    },
    { prefix: '/api/v2' },
  );

  app.addHook('onClose', async () => {
    clearInterval(keyRefresh);
    hub.close();
    market.close();
    await store.close();
  });

  await app.ready();
  return app;
}

/**
 * A request that asked to upgrade reaches the router through @fastify/websocket's 'upgrade'
 * listener, and Node has handed its socket over: no other request follows on it. Whatever
 * HTTP answer it gets (from any route but the subscriptions one, or from that one refusing
 * it) is its last, so the socket is ended once the answer is written.
 */
function closeUpgrade(request: FastifyRequest, reply: FastifyReply): void {
  const socket = request.raw.socket;
  reply.raw.once('finish', () => socket.end());
}
