/**
 * What an operator relies on: /metrics moving with real traffic, request ids on every
 * answer, security headers, CORS when asked for, and the all-or-nothing bulk publish.
 */
import { describe, expect, it } from 'vitest';
import { hubsClosedAfterEach, k8slice, sleep, WsClient } from '../helpers/hub.js';

const startHub = hubsClosedAfterEach();
const P = 'tok-provider-a';
const C0 = 'tok-consumer-0';

/** `name{labels} value` lines of a scrape, as a lookup by the series' full text. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

function value(series: Map<string, number>, name: string, labels: Record<string, string> = {}) {
  let total: number | undefined;
  for (const [key, v] of series) {
    const brace = key.indexOf('{');
    const base = brace < 0 ? key : key.slice(0, brace);
    if (base !== name) continue;
    if (!Object.entries(labels).every(([k, l]) => key.includes(`${k}="${l}"`))) continue;
    total = (total ?? 0) + v;
  }
  return total;
}

describe('GET /metrics', () => {
  it('reports the §10 series, and they move with real traffic', async () => {
    const hub = await startHub();
    const before = parse((await hub.api('GET', '/metrics')).text);
    expect(value(before, 'rear_ws_connections')).toBe(0);
    expect(value(before, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);

    const ws = await WsClient.open(hub.wsUrl, C0);
    ws.send({ type: 'SUBSCRIBE_FLAVOR', id: 's', selector: {} });
    await ws.next((m) => m.type === 'SUBSCRIBED');
    const flavor = (await hub.api('POST', '/api/v2/flavors', P, k8slice())).body;
    await ws.next((m) => m.type === 'FLAVOR_ADDED');
    const tx = (await hub.api('POST', '/api/v2/reservations', C0, { FlavorID: flavor.flavorId }))
      .body;
    // A second buyer waits in line for the held flavor.
    const waiting = hub.api(
      'POST',
      '/api/v2/reservations',
      'tok-consumer-1',
      {
        FlavorID: flavor.flavorId,
      },
      { prefer: 'wait=5' },
    );
    await sleep(200);
    const mid = parse((await hub.api('GET', '/metrics')).text);
    expect(value(mid, 'rear_holds_live')).toBe(1);
    expect(value(mid, 'rear_reservations_waiting')).toBe(1);
    expect(value(mid, 'rear_ws_connections')).toBe(1);
    expect(value(mid, 'rear_ws_subscriptions')).toBe(1);

    expect(
      (await hub.api('POST', `/api/v2/transactions/${tx.TransactionID}/purchase`, C0)).status,
    ).toBe(200);
    await ws.next((m) => m.type === 'CONFIRM_RESERVATION');
    expect((await waiting).status).toBe(404);
    await hub.api('GET', '/api/v2/flavors/nope', C0);
    await hub.api('GET', '/api/v2/flavors', 'bad-token');
    ws.close();
    await sleep(100);

    const after = parse((await hub.api('GET', '/metrics')).text);
    const route = (r: string, status: string) =>
      value(after, 'rear_http_requests_total', { route: r, status });
    expect(route('/api/v2/flavors', '201')).toBe(1);
    expect(route('/api/v2/reservations', '200')).toBe(1);
    expect(route('/api/v2/reservations', '404')).toBe(1);
    expect(route('/api/v2/flavors/:segment', '404')).toBe(1);
    expect(route('/api/v2/flavors', '401')).toBe(1);
    expect(
      value(after, 'rear_http_request_duration_seconds_count', {
        route: '/api/v2/transactions/:id/purchase',
      }),
    ).toBe(1);
    expect(value(after, 'rear_events_total', { type: 'FLAVOR_ADDED' })).toBe(1);
    expect(value(after, 'rear_events_total', { type: 'CONFIRM_RESERVATION' })).toBe(1);
    expect(value(after, 'rear_contracts_total')).toBe(1);
    expect(value(after, 'rear_ws_deliveries_total')).toBeGreaterThanOrEqual(3);
    expect(value(after, 'rear_ws_closes_total')).toBe(1);
    expect(value(after, 'rear_ws_connections')).toBe(0);
    expect(value(after, 'rear_holds_live')).toBe(0);
    expect(value(after, 'rear_store_commit_duration_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(value(after, 'rear_store_commit_batch_size_sum')).toBeGreaterThanOrEqual(3);
    expect(value(after, 'rear_event_history_size')).toBeGreaterThanOrEqual(3);
  });

  it('counts closes by the code the hub sent (1009) and how late deadlines run', async () => {
    const hub = await startHub({ ttpSeconds: 0.2 });
    const ws = await WsClient.open(hub.wsUrl, C0);
    ws.send('x'.repeat(70 * 1024));
    await ws.closed();
    const flavor = (await hub.api('POST', '/api/v2/flavors', P, k8slice())).body;
    await hub.api('POST', '/api/v2/reservations', C0, { FlavorID: flavor.flavorId });
    await sleep(400);
    const m = parse((await hub.api('GET', '/metrics')).text);
    expect(value(m, 'rear_ws_closes_total', { code: '1009' })).toBe(1);
    expect(value(m, 'rear_scheduler_lag_seconds_count', { kind: 'hold' })).toBe(1);
  });

  it('is left out with metrics off', async () => {
    const hub = await startHub({ metrics: false });
    expect((await hub.api('GET', '/metrics')).status).toBe(404);
  });
});

describe('headers on every answer', () => {
  it('sends a request-id (errors included), reuses a plain one, and security headers', async () => {
    const hub = await startHub();
    const ok = await hub.api('GET', '/healthz');
    const unauthorized = await hub.api('GET', '/api/v2/flavors');
    const missing = await hub.api('GET', '/nowhere');
    const bad = await hub.api('POST', '/api/v2/flavors', P, '{', {});
    for (const r of [ok, unauthorized, missing, bad])
      expect(r.headers.get('request-id')).toBeTruthy();
    expect(
      new Set([ok, unauthorized, missing, bad].map((r) => r.headers.get('request-id'))).size,
    ).toBe(4);
    const given = await hub.api('GET', '/healthz', undefined, undefined, {
      'request-id': 'lb-42.a',
    });
    expect(given.headers.get('request-id')).toBe('lb-42.a');
    const odd = await hub.api('GET', '/healthz', undefined, undefined, { 'request-id': 'a b<c>' });
    expect(odd.headers.get('request-id')).not.toBe('a b<c>');
    expect(ok.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    expect(ok.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers CORS for the configured origins only', async () => {
    const hub = await startHub({ corsOrigin: ['https://app.example'] });
    const yes = await hub.api('GET', '/api/v2/flavors', C0, undefined, {
      origin: 'https://app.example',
    });
    expect(yes.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(yes.headers.get('access-control-expose-headers')).toContain('request-id');
    const no = await hub.api('GET', '/api/v2/flavors', C0, undefined, {
      origin: 'https://evil.example',
    });
    expect(no.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await hub.api('OPTIONS', '/api/v2/flavors', undefined, undefined, {
      origin: 'https://app.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
  });
});

describe('bulk publish (POST /api/v2/flavors with an array)', () => {
  it('publishes 1,000 offers in one commit and answers them all', async () => {
    const hub = await startHub();
    const ws = await WsClient.open(hub.wsUrl, C0);
    ws.send({ type: 'SUBSCRIBE_FLAVOR', selector: {} });
    await ws.next((m) => m.type === 'SUBSCRIBED');
    const before = parse((await hub.api('GET', '/metrics')).text);
    const offers = Array.from({ length: 1000 }, (_, i) => k8slice({ cpu: String(1 + (i % 64)) }));
    const r = await hub.api('POST', '/api/v2/flavors', P, offers);
    expect(r.status).toBe(201);
    expect(r.body).toHaveLength(1000);
    expect(new Set(r.body.map((f: { flavorId: string }) => f.flavorId)).size).toBe(1000);
    expect(r.body[5].type.data.characteristics.cpu).toBe('6');
    expect(r.body[0].providerId).toBe('prov-a');
    const list = await hub.api('GET', '/api/v2/flavors', C0);
    expect(list.body).toHaveLength(1000);
    await ws.next((m) => m.type === 'FLAVOR_ADDED' && m.flavorId === r.body[999].flavorId);
    const after = parse((await hub.api('GET', '/metrics')).text);
    // One physical transaction held the 1,000 offers as one change.
    expect(
      (value(after, 'rear_store_commit_batch_size_count') ?? 0) -
        (value(before, 'rear_store_commit_batch_size_count') ?? 0),
    ).toBe(1);
  });

  it('publishes none when one offer is bad, and names its index', async () => {
    const hub = await startHub();
    const offers = [k8slice(), k8slice(), { ...k8slice(), price: { amount: '1' } }, k8slice()];
    const r = await hub.api('POST', '/api/v2/flavors', P, offers);
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('INVALID_REQUEST');
    expect(r.body.message).toContain('/2/price');
    const rules = [k8slice(), k8slice({}, { cpuStep: '0' })];
    const r2 = await hub.api('POST', '/api/v2/flavors', P, rules);
    expect(r2.status).toBe(400);
    expect(r2.body.message).toMatch(/^offer 1: /);
    expect((await hub.api('GET', '/api/v2/flavors', C0)).body).toEqual([]);
    const tooMany = Array.from({ length: 1001 }, () => k8slice());
    expect((await hub.api('POST', '/api/v2/flavors', P, tooMany)).status).toBe(400);
    expect((await hub.api('POST', '/api/v2/flavors', P, [])).status).toBe(400);
    expect((await hub.api('POST', '/api/v2/flavors', C0, [k8slice()])).status).toBe(403);
  });
});
