/**
 * GET /metrics (§10): Prometheus text from prom-client. The domain core knows nothing of it:
 * the series are fed by a fastify hook (requests), the store's observer (commits), the event
 * bus (events), the deadline queue's watcher (scheduler lag), and read from the market and
 * the WebSocket hub when scraped (gauges and the hub's plain counters). Nothing here sits on
 * a hot path but the request hook, which finds its series cached on the route and adds to
 * plain numbers (plain-histogram.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { DomainEvent } from '../domain/events.js';
import type { Market } from '../domain/market.js';
import type { StoreObserver } from '../store/store.js';
import type { WsHub } from '../ws/hub.js';
import { PlainHistogram, type HistogramSeries } from './plain-histogram.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route's series, by method and status (made on first use). */
    metricsSeries?: Map<string, HistogramSeries>;
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
  private readonly duration = new PlainHistogram(
    'rear_http_request_duration_seconds',
    'Time from receiving a request to the end of its answer (a reservation that waits counts its wait)',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120],
  );
  private readonly commitDuration = new PlainHistogram(
    'rear_store_commit_duration_seconds',
    'Time one physical store transaction took to reach the disk',
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
  );
  private readonly commitBatch = new PlainHistogram(
    'rear_store_commit_batch_size',
    'Changes one physical store transaction held (group commit)',
    [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
  );
  private readonly commits = {
    duration: this.commitDuration.series(),
    batch: this.commitBatch.series(),
  };
  /** Given to the store: called once per physical transaction. */
  readonly storeObserver: StoreObserver = {
    commit: (seconds, size) => {
      this.commits.duration.observe(seconds);
      this.commits.batch.observe(size);
    },
  };

  constructor() {
    const register = (m: object) => this.registry.registerMetric(m as Metric);
    register(
      this.duration.countAsCounter(
        'rear_http_requests_total',
        'HTTP requests answered, by route pattern, method and status',
      ),
    );
    register(this.duration);
    register(this.commitDuration);
    register(this.commitBatch);
  }

  /** Counts requests from here on; call before any route is added. */
  instrumentRequests(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      route.config = { ...route.config, metricsSeries: new Map() };
    });
    const fallback = new Map<string, HistogramSeries>();
    app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
      const cache = request.routeOptions.config?.metricsSeries ?? fallback;
      const key = `${request.method} ${reply.statusCode}`;
      let series = cache.get(key);
      if (!series) {
        series = this.duration.series({
          route: request.routeOptions.url ?? UNMATCHED,
          method: request.method,
          status: String(reply.statusCode),
        });
        cache.set(key, series);
      }
      series.observe(reply.elapsedTime / 1000);
      done();
    });
  }

  /** The market's and the hub's series, and GET /metrics itself. */
  install(app: FastifyInstance, market: Market, hub: WsHub): void {
    const registers = [this.registry];
    const processes = processMetrics();

    // Counted as plain numbers as events pass; reported as counters when scraped.
    const byKind = new Map<string, number>(Object.keys(EVENT_TYPES).map((k) => [k, 0]));
    const unlisten = market.bus.listen((e) => byKind.set(e.kind, (byKind.get(e.kind) ?? 0) + 1));
    app.addHook('onClose', async () => unlisten());
    new Counter({
      name: 'rear_events_total',
      help: 'Market events committed and published, by type',
      labelNames: ['type'] as const,
      registers,
      collect() {
        this.reset();
        for (const [kind, n] of byKind)
          this.labels(EVENT_TYPES[kind as DomainEvent['kind']]).inc(n);
      },
    });
    new Counter({
      name: 'rear_contracts_total',
      help: 'Contracts concluded (purchases) since the process started',
      registers,
      collect() {
        this.reset();
        this.inc(byKind.get('confirmed') ?? 0);
      },
    });

    const lag = new PlainHistogram(
      'rear_scheduler_lag_seconds',
      'How late deadlines run after their time, by kind (flavor: catalog renewals and expiries; hold: TTP; wait: bounded waits)',
      [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    );
    this.registry.registerMetric(lag as unknown as Metric);
    const lagByKind = new Map<string, HistogramSeries>();
    market.observeDeadlines((key, lateMs) => {
      const kind = key.slice(0, Math.max(0, key.indexOf(':'))) || 'other';
      let series = lagByKind.get(kind);
      if (!series) lagByKind.set(kind, (series = lag.series({ kind })));
      series.observe(Math.max(0, lateMs) / 1000);
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
