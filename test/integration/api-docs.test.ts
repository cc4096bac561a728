/**
 * The API descriptions (§10): /openapi.json validated as OpenAPI 3.1 and /asyncapi.json as
 * AsyncAPI 3.0 by real parsers, and both checked against what the hub really serves — every
 * route it registered and every frame type its ws-*.json schemas define.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { hubsClosedAfterEach } from '../helpers/hub.js';

const startHub = hubsClosedAfterEach();

/** The `type` consts of every frame schema under schemas/ws-*.json, read from the files. */
function frameTypes(): string[] {
  const dir = new URL('../../schemas/', import.meta.url);
  const types = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const props = (node as { properties?: { type?: { const?: unknown } } }).properties;
    if (typeof props?.type?.const === 'string') types.add(props.type.const);
    Object.values(node).forEach(walk);
  };
  for (const f of readdirSync(dir).filter((f) => f.startsWith('ws-') && f.endsWith('.json')))
    walk(JSON.parse(readFileSync(new URL(f, dir), 'utf8')));
  return [...types].sort();
}

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document that describes every route the hub serves', async () => {
    const hub = await startHub();
    const r = await hub.api('GET', '/openapi.json');
    expect(r.status).toBe(200);
    const doc = r.body;
    expect(doc.openapi).toMatch(/^3\.1\./);
    const validator = new Validator();
    const res = await validator.validate(doc);
    expect(res.errors ?? []).toEqual([]);
    expect(res.valid).toBe(true);

    const routes = hub.app.routeList.filter((route) => !route.hidden);
    expect(routes.length).toBeGreaterThan(15);
    for (const route of routes) {
      const path = route.url.replace(/:(\w+)/g, '{$1}');
      expect(
        doc.paths[path]?.[route.method.toLowerCase()],
        `${route.method} ${path}`,
      ).toBeDefined();
    }
    // Only Swagger UI's own assets are hidden.
    for (const route of hub.app.routeList.filter((x) => x.hidden))
      expect(route.url.startsWith('/docs')).toBe(true);
  });

  it('describes parameters, bodies, answers, error bodies, the bearer scheme and examples', async () => {
    const hub = await startHub();
    const doc = (await hub.api('GET', '/openapi.json')).body;
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const reserve = doc.paths['/api/v2/reservations'].post;
    expect(reserve.security).toEqual([{ bearer: [] }]);
    // REAR's spelling and the FLUIDOS node's (§13), each by reference.
    expect(reserve.requestBody.content['application/json'].schema.oneOf).toEqual([
      { $ref: '#/components/schemas/Reservation' },
      { $ref: '#/components/schemas/FluidosReservation' },
    ]);
    expect(reserve.responses['200'].content['application/json'].schema.anyOf).toEqual([
      { $ref: '#/components/schemas/Transaction' },
      { $ref: '#/components/schemas/FluidosTransaction' },
    ]);
    expect(reserve.responses['4XX'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/ErrorBody',
    );
    expect(doc.paths['/healthz'].get.security).toBeUndefined();
    const list = doc.paths['/api/v2/flavors/{segment}'].get.parameters as Array<{
      in: string;
      name: string;
    }>;
    expect(list.find((p) => p.in === 'path')?.name).toBe('segment');
    const query = list.filter((p) => p.in === 'query').map((p) => p.name);
    expect(query).toEqual(
      expect.arrayContaining([
        'filter[cpu][range][min]',
        'filter[architecture][match]',
        'filter[price][range][max]',
        'filter[providerId][match]',
      ]),
    );
    const common = (doc.paths['/api/v2/flavors'].get.parameters as Array<{ name: string }>).map(
      (p) => p.name,
    );
    expect(common).toContain('filter[price][range][min]');
    expect(common).not.toContain('filter[cpu][range][min]');
    expect(doc.components.schemas.FlavorPublish.examples[0].type.name).toBe('k8slice');
    expect(doc.components.schemas.Flavor.examples[0].flavorId).toBeTruthy();
  });
});

describe('GET /asyncapi.json', () => {
  it('is a valid AsyncAPI 3.0 document with every frame type of the schemas, both directions', async () => {
    const hub = await startHub();
    const r = await hub.api('GET', '/asyncapi.json');
    expect(r.status).toBe(200);
    const doc = r.body;
    expect(doc.asyncapi).toBe('3.0.0');
    const { document, diagnostics } = await new Parser().parse(r.text);
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document).toBeDefined();

    const types = frameTypes();
    expect(types).toEqual(
      expect.arrayContaining(['SUBSCRIBE_FLAVOR', 'PING', 'REFRESH_FLAVOR', 'CONFIRM_RESERVATION']),
    );
    const channel = document!.channels().all()[0]!;
    expect(document!.channels().all()).toHaveLength(1);
    expect(channel.address()).toBe('/api/v2/subscriptions');
    const inChannel = channel
      .messages()
      .all()
      .map((m) => m.name());
    expect([...inChannel].sort()).toEqual(types);

    const actions = new Map<string, string>();
    for (const op of document!.operations().all())
      for (const m of op.messages().all()) actions.set(m.name() as string, op.action());
    for (const t of ['SUBSCRIBE_FLAVOR', 'UNSUBSCRIBE_FLAVOR', 'PING'])
      expect(actions.get(t)).toBe('receive');
    for (const t of types.filter(
      (t) => !['SUBSCRIBE_FLAVOR', 'UNSUBSCRIBE_FLAVOR', 'PING'].includes(t),
    ))
      expect(actions.get(t), t).toBe('send');
    expect(doc.channels.subscriptions.bindings.ws.query.properties.access_token).toBeDefined();
  });
});

describe('the documents need no token', () => {
  it('answers /openapi.json, /asyncapi.json, /docs and /metrics without one', async () => {
    const hub = await startHub();
    for (const path of ['/openapi.json', '/asyncapi.json', '/docs', '/metrics'])
      expect((await hub.api('GET', path)).status, path).toBe(200);
  });
});
