/**
 * GET /metrics (§10): Prometheus text from prom-client. The domain core knows nothing of it:
 * the series are fed by a fastify hook (requests), the store's observer (commits), the event
 * bus (events), the deadline queue's watcher (scheduler lag), and read from the market and
 * the WebSocket hub when scraped (gauges and the hub's plain counters). Nothing here sits on
 * a hot path but the request hook, which finds its label children cached on the route.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type Counter as CounterT,
  type Histogram as HistogramT,
} from 'prom-client';
import type { DomainEvent } from '../domain/events.js';
import type { Market } from '../domain/market.js';
import type { StoreObserver } from '../store/store.js';
import type { WsHub } from '../ws/hub.js';

interface RouteChildren {
  requests: CounterT.Internal;
  duration: HistogramT.Internal<'route' | 'method' | 'status'>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route's label children, by method and status (filled on first use). */
    metricsChildren?: Map<string, RouteChildren>;
  }
}

/** The route label of requests that matched no route (404s): one series for all of them. */
const UNMATCHED = 'unmatched';

const EVENT_TYPES: Record<DomainEvent['kind'], string> = {
  added: 'FLAVOR_ADDED',
  refreshed: 'REFRESH_FLAVOR',
  withdrawn: 'WITHDRAW_FLAVOR',
  confirmed: 'CONFIRM_RESERVATION',
};

/**
 * Node's process metrics, once per process: they watch the process, not an app, and each
 * collection starts GC and event-loop observers that are never stopped.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class HubMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'rear_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'rear_http_request_duration_seconds',
    help: 'Time from receiving a request to the end of its answer (a reservation that waits counts its wait)',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120],
    registers: [this.registry],
  });
  private readonly commitDuration = new Histogram({
    name: 'rear_store_commit_duration_seconds',
    help: 'Time one physical store transaction took to reach the disk',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  private readonly commitBatch = new Histogram({
    name: 'rear_store_commit_batch_size',
    help: 'Changes one physical store transaction held (group commit)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    registers: [this.registry],
  });
  /** Given to the store: called once per physical transaction. */
  readonly storeObserver: StoreObserver = {
    commit: (seconds, size) => {
      this.commitDuration.observe(seconds);
      this.commitBatch.observe(size);
    },
  };

  /** Counts requests from here on; call before any route is added. */
  instrumentRequests(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      route.config = { ...route.config, metricsChildren: new Map() };
    });
    const fallback = new Map<string, RouteChildren>();
    app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
      const cache = request.routeOptions.config?.metricsChildren ?? fallback;
      const key = `${request.method} ${reply.statusCode}`;
      let children = cache.get(key);
      if (!children) {
        const labels = {
          route: request.routeOptions.url ?? UNMATCHED,
          method: request.method,
          status: String(reply.statusCode),
        };
        children = {
          requests: this.requests.labels(labels),
          duration: this.duration.labels(labels),
        };
        cache.set(key, children);
      }
      children.requests.inc();
      children.duration.observe(reply.elapsedTime / 1000);
      done();
    });
  }

  /** The market's and the hub's series, and GET /metrics itself. */
  install(app: FastifyInstance, market: Market, hub: WsHub): void {
    const registers = [this.registry];
    const processes = processMetrics();

    const events = new Counter({
      name: 'rear_events_total',
      help: 'Market events committed and published, by type',
      labelNames: ['type'] as const,
      registers,
    });
    const contracts = new Counter({
      name: 'rear_contracts_total',
      help: 'Contracts concluded (purchases) since the process started',
      registers,
    });
    const byKind = new Map(
      Object.entries(EVENT_TYPES).map(([kind, type]) => [kind, events.labels(type)]),
    );
    const unlisten = market.bus.listen((e) => {
      byKind.get(e.kind)?.inc();
      if (e.kind === 'confirmed') contracts.inc();
    });
    app.addHook('onClose', async () => unlisten());

    const lag = new Histogram({
      name: 'rear_scheduler_lag_seconds',
      help: 'How late deadlines run after their time, by kind (flavor: catalog renewals and expiries; hold: TTP; wait: bounded waits)',
      labelNames: ['kind'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    const lagByKind = new Map<string, HistogramT.Internal<'kind'>>();
    market.observeDeadlines((key, lateMs) => {
      const kind = key.slice(0, Math.max(0, key.indexOf(':'))) || 'other';
      let child = lagByKind.get(kind);
      if (!child) lagByKind.set(kind, (child = lag.labels(kind)));
      child.observe(Math.max(0, lateMs) / 1000);
    });

    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    gauge('rear_ws_connections', 'Open WebSocket connections', () => hub.size);
    gauge('rear_ws_subscriptions', 'Subscriptions held by open WebSocket connections', () =>
      hub.subscriptionCount(),
    );
    gauge(
      'rear_reservations_waiting',
      'Reservers waiting in a line for a held flavor',
      () => market.reservations.stats().waiters,
    );
    gauge(
      'rear_holds_live',
      'Live holds (reserved, not yet purchased, TTP running)',
      () => market.reservations.stats().holds,
    );
    gauge('rear_flavors_live', 'Flavors in the catalog', () => market.catalog.size);
    gauge('rear_event_seq', 'The newest event seq', () => market.bus.lastSeq);
    gauge(
      'rear_event_history_size',
      'Events kept for resumption (since); a client further behind gets a fresh snapshot',
      () => market.bus.lastSeq - market.bus.prunedThrough,
    );

    // The hub keeps plain running totals; each scrape reports them as counters.
    new Counter({
      name: 'rear_ws_deliveries_total',
      help: 'Event frames sent to WebSocket subscribers (one per recipient)',
      registers,
      collect() {
        this.reset();
        this.inc(hub.counters.deliveries);
      },
    });
    new Counter({
      name: 'rear_ws_closes_total',
      help: 'WebSocket connections closed, by close code (the hub’s: 1001 shutdown, 1009 frame too big, 1013 slow reader, 4401 token expired; else the client’s)',
      labelNames: ['code'] as const,
      registers,
      collect() {
        this.reset();
        for (const [code, n] of hub.counters.closes) this.labels(String(code)).inc(n);
      },
    });
    new Counter({
      name: 'rear_ws_ping_drops_total',
      help: 'WebSocket connections dropped for missing a ping',
      registers,
      collect() {
        this.reset();
        this.inc(hub.counters.pingDrops);
      },
    });

    app.get(
      '/metrics',
      {
        schema: {
          summary: 'Prometheus metrics',
          description:
            'The hub’s series in the Prometheus text format (README: Running in production).',
          response: {
            200: {
              description: 'Prometheus text exposition format 0.0.4',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      async (_request, reply) =>
        reply
          .type(this.registry.contentType)
          .send(`${await this.registry.metrics()}\n${await processes.metrics()}`),
    );
  }
}
