import { describe, expect, it } from 'vitest';
import { hubsClosedAfterEach, k8slice, sleep, tempDbPath } from '../helpers/hub.js';

const hub = hubsClosedAfterEach();

const P = 'tok-provider-a';
const P2 = 'tok-provider-b';
const C = 'tok-consumer-0';
const A = 'tok-admin-xyz';

const vm = {
  type: {
    name: 'vm',
    data: {
      Characteristics: {
        Architecture: 'amd64',
        OS: 'debian-12',
        CPU: 4,
        Memory: 8192,
        Storage: 100,
      },
    },
  },
  price: { amount: '0.40', currency: 'EUR', period: 'hour' },
};
const service = {
  type: {
    name: 'service',
    data: {
      Characteristics: {
        Name: 'PostgreSQL',
        Description: 'managed',
        Category: 'database',
        Tags: ['sql'],
        HostingPolicies: ['provider'],
        ConfigurationTemplate: { type: 'object' },
      },
    },
  },
  price: { amount: '0.30', currency: 'EUR', period: 'hour' },
};
const sensor = {
  type: {
    name: 'sensor',
    data: { Characteristics: { SensorType: 'temperature', SamplingRate: 2 } },
  },
  price: { amount: '0.01', currency: 'EUR', period: 'hour' },
};

describe('catalog over REST', () => {
  it('publishes, lists, gets, refreshes and withdraws', async () => {
    const h = await hub();
    const before = Date.now();
    const pub = await h.api('POST', '/api/v2/flavors', P, {
      ...k8slice(),
      ttlSeconds: 120,
      location: { city: 'Turin' },
    });
    expect(pub.status).toBe(201);
    const f = pub.body;
    expect(f.flavorId).toMatch(/^fl-/);
    expect(f.providerId).toBe('prov-a');
    expect(f.owner).toEqual({ domain: 'a.test', nodeId: 'prov-a', ip: '10.0.0.1' });
    expect(f.availability).toBe(true);
    expect(f.location).toEqual({ city: 'Turin' });
    expect(Date.parse(f.timestamp)).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(f.expirationTime) - Date.parse(f.timestamp)).toBe(120_000);

    for (const body of [vm, service, sensor])
      expect((await h.api('POST', '/api/v2/flavors', P2, body)).status).toBe(201);

    const all = await h.api('GET', '/api/v2/flavors', C);
    expect(all.status).toBe(200);
    expect(all.body).toHaveLength(4);

    const spellings: Record<string, string> = {
      k8slices: 'k8slice',
      k8slice: 'k8slice',
      vm: 'vm',
      vms: 'vm',
      service: 'service',
      services: 'service',
      sensors: 'sensor',
      sensor: 'sensor',
    };
    for (const [path, name] of Object.entries(spellings)) {
      const r = await h.api('GET', `/api/v2/flavors/${path}`, C);
      expect(r.status).toBe(200);
      expect(r.body.map((x: { type: { name: string } }) => x.type.name)).toEqual([name]);
    }

    const got = await h.api('GET', `/api/v2/flavors/${f.flavorId}`, C);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(f);

    await sleep(5);
    const ref = await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, P, {
      ttlSeconds: 600,
      price: { amount: '1.25', currency: 'EUR', period: 'hour' },
    });
    expect(ref.status).toBe(200);
    expect(ref.body.price.amount).toBe('1.25');
    expect(Date.parse(ref.body.expirationTime) - Date.parse(ref.body.timestamp)).toBe(600_000);
    expect(Date.parse(ref.body.timestamp)).toBeGreaterThan(Date.parse(f.timestamp));

    const noBody = await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, P);
    expect(noBody.status).toBe(200);
    expect(noBody.body.price.amount).toBe('1.25');

    const off = await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, P, {
      availability: false,
    });
    expect(off.body.availability).toBe(false);
    expect((await h.api('GET', '/api/v2/flavors/k8slices', C)).body).toEqual([]);
    expect(
      (await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, P, { availability: true }))
        .status,
    ).toBe(200);

    const wd = await h.api('POST', `/api/v2/flavors/${f.flavorId}/withdraw`, P, {
      Reason: { Message: 'maintenance' },
    });
    expect(wd.status).toBe(200);
    expect(wd.body.flavorId).toBe(f.flavorId);
    expect((await h.api('GET', `/api/v2/flavors/${f.flavorId}`, C)).body.code).toBe(
      'FLAVOR_NOT_FOUND',
    );
    expect((await h.api('GET', '/api/v2/flavors', C)).body).toHaveLength(3);
    expect((await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, P)).status).toBe(404);
    expect((await h.api('POST', `/api/v2/flavors/${f.flavorId}/withdraw`, P)).status).toBe(404);
  });

  it('answers [] (not 204) when nothing is on offer', async () => {
    const h = await hub();
    const r = await h.api('GET', '/api/v2/flavors', C);
    expect(r.status).toBe(200);
    expect(r.body).toEqual([]);
  });

  it('selects by the query-string selector, and names a bad key', async () => {
    const h = await hub();
    await h.api('POST', '/api/v2/flavors', P, k8slice({ cpu: '2', memory: '4Gi' }));
    await h.api(
      'POST',
      '/api/v2/flavors',
      P,
      k8slice({ cpu: '8', memory: '32Gi', architecture: 'arm64' }),
    );
    await h.api('POST', '/api/v2/flavors', P2, k8slice({ cpu: '16000m', memory: '64Gi' }));
    const q = (s: string) => h.api('GET', `/api/v2/flavors/k8slices?${s}`, C);
    const cpus = (r: { body: Array<{ type: { data: { characteristics: { cpu: string } } } }> }) =>
      r.body.map((f) => f.type.data.characteristics.cpu).sort();
    expect(cpus(await q('filter[cpu][range][min]=8'))).toEqual(['16000m', '8']);
    expect(cpus(await q('filter[cpu][range][min]=8&filter[architecture][match]=amd64'))).toEqual([
      '16000m',
    ]);
    expect(cpus(await q('filter[cpu][match]=16'))).toEqual(['16000m']);
    expect(cpus(await q('filter[memory][range][max]=4Gi'))).toEqual(['2']);
    expect(cpus(await q('filter[providerId][match]=prov-b'))).toEqual(['16000m']);
    expect(
      cpus(await q(encodeURI('filter[price][range][min]=1.00&filter[price][range][max]=1'))),
    ).toHaveLength(3);
    expect(
      (await h.api('GET', '/api/v2/flavors?filter[providerId][exact]=prov-a', C)).body,
    ).toHaveLength(2);

    for (const [query, key] of [
      ['filter[cpux][match]=1', 'filter[cpux]'],
      ['filter[cpu][range][min]=abc', 'filter[cpu][range][min]'],
      ['filter[cpu][match]=1&filter[cpu][range][max]=2', 'filter[cpu][range]'],
      ['filter[cpu][gt]=1', 'filter[cpu][gt]'],
      ['limit=5', 'limit'],
    ]) {
      const r = await q(query as string);
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('INVALID_SELECTOR');
      expect(r.body.message).toContain(key);
    }
    const untyped = await h.api('GET', '/api/v2/flavors?filter[cpu][match]=1', C);
    expect(untyped.body.code).toBe('INVALID_SELECTOR');
  });

  it('never lists or returns a flavor past its expirationTime', async () => {
    const h = await hub();
    const f = (
      await h.api('POST', '/api/v2/flavors', P, { ...k8slice(), ttlSeconds: 2, autoRenew: false })
    ).body;
    expect((await h.api('GET', `/api/v2/flavors/${f.flavorId}`, C)).status).toBe(200);
    await sleep(2100);
    expect((await h.api('GET', `/api/v2/flavors/${f.flavorId}`, C)).status).toBe(404);
    expect((await h.api('GET', '/api/v2/flavors', C)).body).toEqual([]);
  });

  it('keeps the catalog across a restart on the same SQLite file', async () => {
    const { path } = tempDbPath();
    const first = await hub({ dbPath: path });
    const a = (await first.api('POST', '/api/v2/flavors', P, k8slice())).body;
    const b = (await first.api('POST', '/api/v2/flavors', P, vm)).body;
    await first.api('POST', `/api/v2/flavors/${b.flavorId}/withdraw`, P);
    await first.api('POST', `/api/v2/flavors/${a.flavorId}/refresh`, P, {
      price: { amount: '9.99', currency: 'EUR', period: 'hour' },
    });
    await first.close();
    const second = await hub({ dbPath: path });
    const list = (await second.api('GET', '/api/v2/flavors', C)).body;
    expect(list).toHaveLength(1);
    expect(list[0].flavorId).toBe(a.flavorId);
    expect(list[0].price.amount).toBe('9.99');
  });
});

describe('authentication and authorization', () => {
  it('applies the full matrix', async () => {
    const h = await hub();
    const f = (await h.api('POST', '/api/v2/flavors', P, k8slice())).body;
    const paths: Array<[string, string]> = [
      ['GET', '/api/v2/flavors'],
      ['GET', '/api/v2/flavors/k8slices'],
      ['GET', `/api/v2/flavors/${f.flavorId}`],
      ['POST', '/api/v2/flavors'],
      ['POST', `/api/v2/flavors/${f.flavorId}/refresh`],
      ['POST', `/api/v2/flavors/${f.flavorId}/withdraw`],
      ['POST', '/api/v2/reservations'],
      ['GET', '/api/v2/transactions/tx-x'],
      ['DELETE', '/api/v2/transactions/tx-x'],
      ['POST', '/api/v2/transactions/tx-x/purchase'],
      ['GET', '/api/v2/contracts'],
      ['GET', '/api/v2/contracts/ct-x'],
      ['GET', '/api/v2/subscriptions'],
    ];
    for (const [method, path] of paths) {
      for (const headers of [
        {},
        { authorization: 'Bearer nope-nope-nope' },
        { authorization: `Basic ${P}` },
      ] as Array<Record<string, string>>) {
        const r = await h.api(method, path, undefined, undefined, headers);
        expect(r.status, `${method} ${path}`).toBe(401);
        expect(r.body).toEqual({
          statusCode: 401,
          code: 'UNAUTHORIZED',
          error: 'Unauthorized',
          message: expect.any(String),
        });
      }
    }
    // A consumer lists but does not publish or manage.
    expect((await h.api('GET', '/api/v2/flavors', C)).status).toBe(200);
    expect((await h.api('POST', '/api/v2/flavors', C, k8slice())).body.code).toBe('FORBIDDEN');
    expect((await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, C)).status).toBe(403);
    // Another provider may not manage it.
    expect((await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, P2)).status).toBe(403);
    expect((await h.api('POST', `/api/v2/flavors/${f.flavorId}/withdraw`, P2)).status).toBe(403);
    // The admin may manage every flavor.
    expect((await h.api('POST', `/api/v2/flavors/${f.flavorId}/refresh`, A)).status).toBe(200);
    expect((await h.api('POST', `/api/v2/flavors/${f.flavorId}/withdraw`, A)).status).toBe(200);
    // Health needs no token.
    expect((await h.api('GET', '/healthz')).body).toEqual({ status: 'ok', store: 'sqlite' });
  });

  it('limits requests per token with 429 RATE_LIMITED and Retry-After', async () => {
    const h = await hub({ rateLimit: { perSecond: 5, burst: 5 } });
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await h.api('GET', '/api/v2/flavors', C)).status);
    expect(codes.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    const limited = await h.api('GET', '/api/v2/flavors', C);
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another token has its own budget.
    expect((await h.api('GET', '/api/v2/flavors', P)).status).toBe(200);
  });
});

describe('bad input gets a clear 4xx, never a 500', () => {
  it('malformed JSON, wrong types, unknown fields, bad quantities, oversize, wrong media type, unknown routes', async () => {
    const h = await hub();
    const cases: Array<[unknown, number, string]> = [
      ['{"type": ', 400, 'INVALID_REQUEST'],
      ['[]', 400, 'INVALID_REQUEST'],
      [
        { ...k8slice(), price: { amount: 5, currency: 'EUR', period: 'h' } },
        400,
        'INVALID_REQUEST',
      ],
      [{ ...k8slice(), flavorId: 'mine' }, 400, 'INVALID_REQUEST'],
      [{ ...k8slice(), ttlSeconds: -1 }, 400, 'INVALID_REQUEST'],
      [
        { ...k8slice(), price: { amount: '-1', currency: 'EUR', period: 'h' } },
        400,
        'INVALID_REQUEST',
      ],
      [k8slice({ cpu: 'four' }), 400, 'INVALID_REQUEST'],
      [{ type: { name: 'gpu', data: {} }, price: k8slice().price }, 400, 'INVALID_REQUEST'],
      [k8slice({ cpu: '1' }, { cpuMin: '2' }), 400, 'INVALID_REQUEST'],
      [
        {
          ...service,
          type: {
            name: 'service',
            data: {
              Characteristics: {
                ...service.type.data.Characteristics,
                ConfigurationTemplate: { type: 'nope' },
              },
            },
          },
        },
        400,
        'INVALID_REQUEST',
      ],
    ];
    for (const [body, status, code] of cases) {
      const r = await h.api('POST', '/api/v2/flavors', P, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.body.code).toBe(code);
      expect(r.body.error).toBe('Bad Request');
      expect(typeof r.body.message).toBe('string');
    }
    const big = {
      ...k8slice(),
      location: { additionalNotes: 'x'.repeat(1024) },
      networkPropertyType: 'y'.repeat(2 * 1024 * 1024),
    };
    const tooBig = await h.api('POST', '/api/v2/flavors', P, big);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.code).toBe('PAYLOAD_TOO_LARGE');

    const text = await h.api('POST', '/api/v2/flavors', P, 'hello', {
      'content-type': 'text/plain',
    });
    expect(text.status).toBe(415);
    expect(text.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');

    const nf = await h.api('GET', '/api/v2/nothing-here', C);
    expect(nf.status).toBe(404);
    expect(nf.body.code).toBe('ROUTE_NOT_FOUND');

    const refreshBad = await h.api('POST', '/api/v2/flavors/fl-x/refresh', P, {
      availability: 'yes',
    });
    expect(refreshBad.status).toBe(400);
    const withdrawBad = await h.api('POST', '/api/v2/flavors/fl-x/withdraw', P, {
      Reason: 'because',
    });
    expect(withdrawBad.status).toBe(400);
    expect((await h.api('GET', '/api/v2/flavors', C)).body).toEqual([]);
  });
});
