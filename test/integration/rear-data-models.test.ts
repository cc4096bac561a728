/**
 * REAR's data models as published (fluidos-project/REAR-data-models, vendored unchanged under
 * test/fixtures/rear-data-models): offers shaped as REAR's type schemas (its own examples) are
 * accepted, the requests sent are REAR-valid, and what the hub answers — flavors, transactions,
 * contracts — validates against REAR's schemas. `expirationTime` on Flavor is the one
 * deliberate addition. REAR's own mistakes are repaired in memory, each in REPAIRS below.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type AnySchemaObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { hubsClosedAfterEach, type TestHub } from '../helpers/hub.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const DIR = fileURLToPath(new URL('../fixtures/rear-data-models/', import.meta.url));
const BASE = 'https://rear.fluidos.eu/models/schemas/';

type Schema = AnySchemaObject & Record<string, any>;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return files(p);
    return f.endsWith('.schema.json') ? [p] : [];
  });
}

/** Every vendored schema by its path under models/schemas/, as published. */
const PUBLISHED: Record<string, Schema> = Object.fromEntries(
  files(DIR).map((p) => [relative(DIR, p), JSON.parse(readFileSync(p, 'utf8')) as Schema]),
);

/**
 * REAR's mistakes, repaired after loading (the copies stay as published). Each says what is
 * wrong in REAR and what the repair does; none loosens a rule REAR meant.
 */
const REPAIRS: Array<{ what: string; repair: (s: Record<string, Schema>) => void }> = [
  {
    what: 'configuration.schema.json refers to ./configurationTypes/…, but the folder is configuration-types/',
    repair: (s) => {
      s['configurationTypes/k8slice-configuration.schema.json'] =
        s['configuration-types/k8slice-configuration.schema.json']!;
    },
  },
  {
    what: 'k8slice.schema.json refers to ../intents/networkIntent.json, but the file is intents/network-intent.schema.json',
    repair: (s) => {
      s['intents/networkIntent.json'] = s['intents/network-intent.schema.json']!;
    },
  },
  {
    what: 'k8slice.schema.json requires a `name` it never defines, with additionalProperties false: nothing can satisfy it. Repair: `name` is an optional string (its example gives one)',
    repair: (s) => {
      const k = s['flavor-types/k8slice.schema.json']!;
      k.required = (k.required as string[]).filter((r) => r !== 'name');
      k.properties.name = { type: 'string' };
    },
  },
  {
    what: "flavor.schema.json's type.data is a oneOf of the four type schemas, but vm, sensor and service constrain so little that every object matches several: the oneOf never passes. Repair: the type schema is chosen by type.name",
    repair: (s) => {
      const t = s['flavor.schema.json']!.properties.type;
      delete t.properties.data.oneOf;
      t.required = ['name', 'data'];
      t.allOf = (['k8slice', 'vm', 'service', 'sensor'] as const).map((name) => ({
        if: { properties: { name: { const: name } } },
        then: { properties: { data: { $ref: `flavor-types/${name}.schema.json` } } },
      }));
    },
  },
  {
    what: "sensor.schema.json's AccessType is a oneOf of two objects that both accept any object (its own example matches both). Repair: anyOf",
    repair: (s) => {
      const a = s['flavor-types/sensor.schema.json']!.properties.AccessType;
      a.anyOf = a.oneOf;
      delete a.oneOf;
    },
  },
  {
    what: "configuration.schema.json's data lists only the k8slice configuration; service-configuration.schema.json is never referenced, so a service Configuration can never pass. Repair: the data schema is chosen by type",
    repair: (s) => {
      const c = s['configuration.schema.json']!;
      delete c.properties.data.oneOf;
      c.allOf = [
        {
          if: { properties: { type: { const: 'k8slice' } } },
          then: {
            properties: {
              data: { $ref: './configurationTypes/k8slice-configuration.schema.json' },
            },
          },
        },
        {
          if: { properties: { type: { const: 'service' } } },
          then: {
            properties: { data: { $ref: 'configuration-types/service-configuration.schema.json' } },
          },
        },
      ];
    },
  },
];

/** The hub's one deliberate addition (REAR's prose requires an expiry; its schema has none). */
function allowExpirationTime(s: Record<string, Schema>): void {
  s['flavor.schema.json']!.properties.expirationTime = { type: 'string', format: 'date-time' };
}

function rearAjv(): Ajv {
  const schemas = structuredClone(PUBLISHED);
  for (const r of REPAIRS) r.repair(schemas);
  allowExpirationTime(schemas);
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  for (const [path, schema] of Object.entries(schemas))
    ajv.addSchema({ ...schema, $id: BASE + path }, BASE + path);
  return ajv;
}

const ajv = rearAjv();
function expectRear(schema: string, value: unknown): void {
  const validate = ajv.getSchema(BASE + schema);
  if (!validate) throw new Error(`no schema ${schema}`);
  const ok = validate(value);
  expect(ok, `${schema}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value)}`).toBe(true);
}

// REAR's examples (models/examples/…), with their "$ref" placeholders filled in by the
// examples they point at.
const networkIntent = {
  name: 'NetworkIntent1',
  source: {
    isHostCluster: true,
    resourceSelector: {
      pod: [{ key: 'app', value: '*' }],
      namespace: [{ key: 'env', value: 'production' }],
    },
  },
  destination: { isHostCluster: false, resourceSelector: '10.0.0.0/16' },
  destinationPort: '443',
  protocolType: 'HTTPS',
};
const EXAMPLES = {
  k8slice: {
    name: 'ExampleK8Slice',
    characteristics: {
      architecture: 'x86',
      cpu: '2',
      pods: '5',
      memory: '4Gi',
      gpu: { model: 'NVIDIA Tesla K80', cores: '1', memory: '12Gi' },
      storage: '100Gi',
    },
    properties: {
      latency: 50,
      securityStandards: ['GDPR', 'HIPAA'],
      carbonFootprint: { embodied: 2000, operational: [] },
      networkAuthorizations: {
        deniedCommunications: [networkIntent],
        mandatoryCommunications: [networkIntent],
      },
    },
    policies: {
      partitionability: {
        cpuMin: '500m',
        memoryMin: '1Gi',
        podsMin: '1',
        cpuStep: '250m',
        memoryStep: '512Mi',
        podsStep: '1',
      },
    },
  },
  vm: {
    Characteristics: {
      Architecture: 'x86_64',
      OS: 'Ubuntu 20.04',
      CPU: 4,
      Memory: 8192,
      GPU: { GPUModel: 'NVIDIA RTX 3080', GPUCores: 10 },
      Storage: 100,
    },
    Properties: {
      Latency: 30,
      SecurityStandards: ['GDPR', 'ISO 27001'],
      CarbonFootprint: { Embodied: 1500, Operational: [] },
    },
    Policy: { Aggregatable: { MinCount: 1, MaxCount: 10 } },
  },
  sensor: {
    Characteristics: {
      SensorType: 'Temperature',
      SensorModel: 'T1000',
      SensorManufacturer: 'SensorCorp',
      SensorMarket: 'Industrial',
      SamplingRate: 1000,
      Accuracy: 95,
      Consumption: 50,
      Interface: 'I2C',
      SecurityStandards: ['ISO 27001', 'GDPR'],
      Latency: 10,
      additionalProperties: {
        MeasurementUnit: 'Celsius',
        ConsumptionUnit: 'mW',
        SamplingRateUnit: 'milliseconds',
        AccessProtocol: 'HTTP',
      },
    },
    AccessType: { HTTP: { method: ['GET', 'POST'] } },
  },
  // REAR's schema types ConfigurationTemplate as a string ("JSON Schema Parameters"); its
  // example gives an object. Both are accepted; this is the schema's form.
  service: {
    Characteristics: {
      Name: 'Database Service',
      Description: 'A scalable database service for applications.',
      Category: 'database',
      Tags: ['database', 'scalable', 'managed'],
      HostingPolicies: ['ProviderSide', 'ConsumerSide'],
      ConfigurationTemplate: JSON.stringify({
        type: 'object',
        required: ['username', 'database'],
        properties: {
          username: { type: 'string', description: 'Username for the database.' },
          password: { type: 'string', description: 'Password for the database.' },
          database: { type: 'string', description: 'Database name.' },
        },
      }),
    },
  },
};
/** REAR's flavor example, without what the hub assigns (§7: flavorId, providerId, owner, …). */
const offer = (name: keyof typeof EXAMPLES) => ({
  location: {
    latitude: '37.7749',
    longitude: '-122.4194',
    country: 'USA',
    city: 'San Francisco',
    additionalNotes: 'Near the waterfront',
  },
  networkPropertyType: '5G',
  type: { name, data: EXAMPLES[name] },
  price: { amount: '100', currency: 'USD', period: 'monthly' },
});

const hub = hubsClosedAfterEach();
const P = 'tok-provider-a';
const C = 'tok-consumer-0';
const BUYER = { Domain: 'c0.test', NodeID: 'cons-0', IP: '10.1.0.0' };
const LIQO = {
  LiqoCredentials: {
    clusterID: 'cluster-123',
    clusterName: 'ExampleCluster',
    endpoint: 'https://example.cluster.endpoint',
    token: 'abc123token',
  },
};

async function publish(h: TestHub, name: keyof typeof EXAMPLES) {
  const r = await h.api('POST', '/api/v2/flavors', P, offer(name));
  expect(r.status, r.text).toBe(201);
  return r.body;
}

async function buy(h: TestHub, reservation: Record<string, unknown>) {
  expectRear('reservation.schema.json', reservation);
  const r = await h.api('POST', '/api/v2/reservations', C, reservation);
  expect(r.status, r.text).toBe(200);
  expectRear('transaction.schema.json', r.body);
  const read = await h.api('GET', `/api/v2/transactions/${r.body.TransactionID}`, C);
  expectRear('transaction.schema.json', read.body);
  expectRear('purchase-request.schema.json', LIQO);
  const p = await h.api('POST', `/api/v2/transactions/${r.body.TransactionID}/purchase`, C, LIQO);
  expect(p.status, p.text).toBe(200);
  expectRear('contract.schema.json', p.body);
  expectRear('flavor.schema.json', p.body.Flavor);
  expectRear('node-identity.schema.json', p.body.Buyer);
  expectRear('node-identity.schema.json', p.body.Seller);
  return { tx: r.body, contract: p.body };
}

describe("REAR's data models as published", () => {
  it('every repair is needed: the published schemas fail on what the repairs fix', () => {
    // Without repairs the broken $refs do not even compile.
    const raw = new Ajv({ strict: false });
    addFormats(raw);
    for (const [path, schema] of Object.entries(PUBLISHED))
      raw.addSchema({ ...schema, $id: BASE + path }, BASE + path);
    expect(() => raw.getSchema(`${BASE}configuration.schema.json`)).toThrow(/configurationTypes/);
    expect(() => raw.getSchema(`${BASE}flavor-types/k8slice.schema.json`)).toThrow(/networkIntent/);
    // REAR's own k8slice example fails REAR's k8slice schema as published (`name`).
    const k = structuredClone(PUBLISHED);
    REPAIRS[1]!.repair(k);
    const only = new Ajv({ strict: false });
    for (const [path, schema] of Object.entries(k))
      only.addSchema({ ...schema, $id: BASE + path }, BASE + path);
    expect(only.validate(`${BASE}flavor-types/k8slice.schema.json`, EXAMPLES.k8slice)).toBe(false);
    expect(only.validate(`${BASE}flavor-types/sensor.schema.json`, EXAMPLES.sensor)).toBe(false);
    // The repaired schemas still bite: a k8slice whose cpu is a number, a flavor with an
    // unknown field, a vm whose CPU is a string.
    const f = (data: unknown, extra = {}) => ({
      flavorId: 'f',
      providerId: 'p',
      timestamp: '2024-07-15T12:00:00Z',
      type: { name: 'k8slice', data },
      price: { amount: '1', currency: 'EUR', period: 'hour' },
      owner: { domain: 'd', nodeId: 'n', ip: '1.2.3.4' },
      availability: true,
      ...extra,
    });
    const flavorOk = ajv.getSchema(`${BASE}flavor.schema.json`)!;
    expect(flavorOk(f(EXAMPLES.k8slice))).toBe(true);
    const bad = structuredClone(EXAMPLES.k8slice) as any;
    bad.characteristics.cpu = 2;
    expect(flavorOk(f(bad))).toBe(false);
    expect(flavorOk(f(EXAMPLES.k8slice, { extra: 1 }))).toBe(false);
    expect(
      flavorOk({ ...f(null), type: { name: 'vm', data: { Characteristics: { CPU: '4' } } } }),
    ).toBe(false);
  });

  it("accepts REAR's offers of all four types and lists them as REAR's Flavor (plus expirationTime)", async () => {
    const h = await hub();
    for (const name of ['k8slice', 'vm', 'service', 'sensor'] as const) {
      expectRear(`flavor-types/${name}.schema.json`, EXAMPLES[name]);
      const flavor = await publish(h, name);
      expectRear('flavor.schema.json', flavor);
      expect(flavor.type.data).toEqual(EXAMPLES[name]);
      const one = await h.api('GET', `/api/v2/flavors/${flavor.flavorId}`, C);
      expectRear('flavor.schema.json', one.body);
    }
    const all = await h.api('GET', '/api/v2/flavors', C);
    expect(all.body).toHaveLength(4);
    for (const f of all.body) expectRear('flavor.schema.json', f);
    // The service's template is listed in the form it was published: a string.
    const service = all.body.find((f: any) => f.type.name === 'service');
    expect(service.type.data.Characteristics.ConfigurationTemplate).toBe(
      EXAMPLES.service.Characteristics.ConfigurationTemplate,
    );
  });

  it("buys a partition with REAR's k8slice configuration; every answer is REAR-valid", async () => {
    const h = await hub();
    const flavor = await publish(h, 'k8slice');
    const { tx, contract } = await buy(h, {
      FlavorID: flavor.flavorId,
      Buyer: BUYER,
      Configuration: {
        type: 'k8slice',
        data: {
          architecture: 'x86',
          cpu: '1',
          pods: '2',
          memory: '2Gi',
          gpu: { model: 'NVIDIA Tesla K80', cores: '1', memory: '12Gi' },
        },
      },
    });
    expectRear('configuration.schema.json', tx.Configuration);
    expect(contract.Flavor.type.data.characteristics).toMatchObject({
      cpu: '1',
      memory: '2Gi',
      pods: '2',
    });
    // What is left stays listed, REAR-valid.
    const left = await h.api('GET', `/api/v2/flavors/${flavor.flavorId}`, C);
    expectRear('flavor.schema.json', left.body);
    expect(left.body.type.data.characteristics.cpu).toBe('1');
    // A configuration for another architecture does not fit.
    const wrong = await h.api('POST', '/api/v2/reservations', C, {
      FlavorID: flavor.flavorId,
      Configuration: {
        type: 'k8slice',
        data: { architecture: 'arm64', cpu: '1', pods: '1', memory: '1Gi' },
      },
    });
    expect(wrong.status).toBe(422);
  });

  it('a k8slice with empty policies (REAR allows {}) is not partitionable', async () => {
    const h = await hub();
    const { policies: _p, ...rest } = EXAMPLES.k8slice;
    const body = {
      ...offer('k8slice'),
      type: { name: 'k8slice', data: { ...rest, policies: {} } },
    };
    const r = await h.api('POST', '/api/v2/flavors', P, body);
    expect(r.status, r.text).toBe(201);
    expectRear('flavor.schema.json', r.body);
    const partition = await h.api('POST', '/api/v2/reservations', C, {
      FlavorID: r.body.flavorId,
      Configuration: { type: 'k8slice', data: { cpu: '1', pods: '1', memory: '1Gi' } },
    });
    expect(partition.status).toBe(422);
    const { contract } = await buy(h, { FlavorID: r.body.flavorId, Buyer: BUYER });
    expect(contract.Flavor.type.data.policies).toEqual({});
  });

  it('buys whole vm, sensor and k8slice flavors; contracts are REAR-valid', async () => {
    const h = await hub();
    for (const name of ['vm', 'sensor', 'k8slice'] as const) {
      const flavor = await publish(h, name);
      const { contract } = await buy(h, { FlavorID: flavor.flavorId, Buyer: BUYER });
      expect(contract.Flavor.flavorId).toBe(flavor.flavorId);
    }
  });

  it("a service's string ConfigurationTemplate checks ConfigurationData (REAR's string, or JSON)", async () => {
    const h = await hub();
    const flavor = await publish(h, 'service');
    const data = {
      HostingPolicy: 'ProviderSide',
      ConfigurationData: JSON.stringify({ username: 'u', database: 'd' }),
    };
    expectRear('configuration-types/service-configuration.schema.json', data);
    const { tx } = await buy(h, {
      FlavorID: flavor.flavorId,
      Buyer: BUYER,
      Configuration: { type: 'service', data },
    });
    expectRear('configuration.schema.json', tx.Configuration);
    expect(tx.Configuration.data).toEqual(data);

    const again = await publish(h, 'service');
    const refuse = (ConfigurationData: unknown) =>
      h.api('POST', '/api/v2/reservations', C, {
        FlavorID: again.flavorId,
        Configuration: { type: 'service', data: { ConfigurationData } },
      });
    // Missing `database`, as a string and as an object; a string that is not JSON.
    expect((await refuse(JSON.stringify({ username: 'u' }))).status).toBe(422);
    expect((await refuse({ username: 'u' })).status).toBe(422);
    expect((await refuse('not json')).status).toBe(422);
    // An object that satisfies the template is fine too.
    expect((await refuse({ username: 'u', database: 'd' })).status).toBe(200);
  });

  it('refuses a string ConfigurationTemplate that holds no JSON Schema', async () => {
    const h = await hub();
    for (const ConfigurationTemplate of ['{not json', '[1]', JSON.stringify({ type: 12 })]) {
      const body = offer('service');
      const r = await h.api('POST', '/api/v2/flavors', P, {
        ...body,
        type: {
          name: 'service',
          data: { Characteristics: { ...EXAMPLES.service.Characteristics, ConfigurationTemplate } },
        },
      });
      expect(r.status, ConfigurationTemplate).toBe(400);
      expect(r.body.message).toContain('ConfigurationTemplate');
    }
  });
});
