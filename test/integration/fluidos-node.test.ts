/**
 * The FLUIDOS node's consumer buys here unchanged (§13). Requests are the bytes its Go client
 * writes (built from its structs' json tags in helpers/fluidos-node.ts, sent on a raw socket);
 * answers are decoded the way encoding/json does (helpers/go-json.ts), and every field the node
 * goes on to read is checked to be filled. What it cannot get from the hub is asserted too, so
 * docs/fluidos.md stays true.
 */
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { compactVerify, createLocalJWKSet } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { goDecode, goMarshal, goUnmarshal } from '../helpers/go-json.js';
import * as go from '../helpers/fluidos-node.js';
import { goRequest, st } from '../helpers/fluidos-node.js';
import {
  hubsClosedAfterEach,
  k8slice,
  startHub,
  tempDbPath,
  type TestHub,
} from '../helpers/hub.js';

const hub = hubsClosedAfterEach();
const P = 'tok-provider-a';
const C = 'tok-consumer-0';
/** The node's own identity, as its token is registered (tokens file: NodeID, Domain). */
const NODE = { NodeID: 'cons-0', IP: '10.1.0.0', Domain: 'c0.test' };
const SECRET = 'kubeconfig-secret-7f3a';
const KUBECONFIG = `apiVersion: v1\nclusters:\n- cluster:\n    server: https://10.0.0.9:6443\n  name: ${SECRET}\nusers:\n- user:\n    token: <${SECRET}&>\n`;

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

async function publishPartitionable(h: TestHub): Promise<string> {
  const r = await h.api('POST', '/api/v2/flavors', P, k8slice({}, {}));
  expect(r.status).toBe(201);
  return r.body.flavorId as string;
}

/** The node's ReserveRequest (client.go ReserveFlavor), marshalled as Go does. */
function reserveRequest(flavorId: string, configuration = true): string {
  return goMarshal(st(go.ReserveRequest), {
    FlavorID: flavorId,
    Buyer: { ...NODE, AdditionalInformation: { LiqoID: 'liqo-cons-0', Kubeconfig: KUBECONFIG } },
    ...(configuration
      ? {
          Configuration: {
            Type: 'k8slice',
            Data: JSON.parse(
              goMarshal(st(go.K8SliceConfiguration), { CPU: '2', Memory: '2Gi', Pods: '20' }),
            ),
          },
        }
      : {}),
  });
}

/** The node's PurchaseRequest (client.go PurchaseFlavor): credentials and telemetry. */
const purchaseRequest = () =>
  goMarshal(st(go.PurchaseRequest), {
    LiqoCredentials: { ClusterID: 'liqo-cons-0', Kubeconfig: KUBECONFIG },
    IngressTelemetryEndpoint: { Endpoint: 'http://telemetry.c0.test:9000' },
  });

function expectFilled(value: unknown, path: string): void {
  expect(value, `${path} is empty`).not.toBe('');
  expect(value, `${path} is missing`).not.toBeUndefined();
}

function storedBytes(dbPath: string): string {
  return ['', '-wal']
    .map((s) => (existsSync(dbPath + s) ? readFileSync(dbPath + s).toString('latin1') : ''))
    .join('');
}

describe("The FLUIDOS node's consumer (§13)", () => {
  it('reserves and purchases with its own bodies, and reads every field it needs from the answers', async () => {
    const h = await hub();
    const flavorId = await publishPartitionable(h);
    const body = reserveRequest(flavorId);
    // The request really is the node's spelling, not REAR's.
    expect(body.startsWith(`{"flavorID":"${flavorId}","buyerID":{"ID":"cons-0"`)).toBe(true);
    expect(body).toContain('\\u003c'); // Go's HTML-safe escaping of the kubeconfig's "<"

    const reserved = await goRequest(h.url, 'POST', '/api/v2/reservations', body, C);
    expect(reserved.status).toBe(200);
    expect(reserved.headers['content-type']).toMatch(/^application\/json/);
    const tx = goUnmarshal(st(go.Transaction), reserved.body);
    for (const f of ['TransactionID', 'FlavorID', 'ExpirationTime', 'ClusterID'])
      expectFilled(tx[f], `Transaction.${f}`);
    expect(tx.FlavorID).toBe(flavorId);
    expect(tx.Buyer).toEqual({
      ...NODE,
      AdditionalInformation: { LiqoID: 'liqo-cons-0', Kubeconfig: '' },
    });
    expect(tx.ClusterID).toBe('liqo-cons-0');
    expect(tx.Configuration.Type).toBe('k8slice');
    expect(goDecode(st(go.K8SliceConfiguration), tx.Configuration.Data)).toMatchObject({
      CPU: '2',
      Memory: '2Gi',
      Pods: '20',
    });
    // Its answer is in the node's spelling (keys, not just values Go could fold).
    expect(Object.keys(JSON.parse(reserved.body))).toEqual([
      'transactionID',
      'flavorID',
      'configuration',
      'buyer',
      'clusterID',
      'expirationTime',
      'status',
    ]);
    expect(reserved.body).not.toContain(SECRET);

    // Read (§13): the same dialect.
    const read = await goRequest(
      h.url,
      'GET',
      `/api/v2/transactions/${tx.TransactionID}`,
      undefined,
      C,
    );
    expect(read.status).toBe(200);
    expect(JSON.parse(read.body)).toEqual({ ...JSON.parse(reserved.body), status: 'reserved' });

    const purchaseBody = purchaseRequest();
    expect(purchaseBody).toBe(
      `{"liqoCredentials":{"clusterID":"liqo-cons-0","kubeconfig":${goMarshal('string', KUBECONFIG)}},"ingressTelemetryEndpoint":{"endpoint":"http://telemetry.c0.test:9000","intents":null}}`,
    );
    const path = `/api/v2/transactions/${tx.TransactionID}/purchase`;
    const bought = await goRequest(h.url, 'POST', path, purchaseBody, C);
    expect(bought.status).toBe(200);
    expect(bought.body).not.toContain(SECRET);
    const contract = goUnmarshal(st(go.Contract), bought.body);
    for (const f of ['ContractID', 'TransactionID', 'BuyerClusterID', 'ExpirationTime'])
      expectFilled(contract[f], `Contract.${f}`);
    expect(contract.TransactionID).toBe(tx.TransactionID);
    expect(contract.Buyer).toEqual(tx.Buyer);
    expect(contract.Seller).toEqual({ NodeID: 'prov-a', IP: '10.0.0.1', Domain: 'a.test' });
    expect(contract.Configuration.Type).toBe('k8slice');
    // The flavor as ForgeFlavorFromObj reads it.
    const f = contract.Flavor;
    expect(f.FlavorID).toBe(flavorId);
    expect(f.ProviderID).toBe('prov-a');
    expect(f.Owner).toEqual({ NodeID: 'prov-a', IP: '10.0.0.1', Domain: 'a.test' });
    expect(f.Type.Name).toBe('k8slice');
    expect(f.Price).toEqual({ Amount: '1.00', Currency: 'EUR', Period: 'hour' });
    expect(f.Availability).toBe(true);
    expectFilled(f.Timestamp, 'Flavor.Timestamp');
    const data = goDecode(st(go.K8Slice), f.Type.Data) as any;
    expect(data.Characteristics).toMatchObject({ CPU: '2', Memory: '2Gi', Pods: '20' });
    // What the hub cannot give: the seller's Liqo credentials (it holds none).
    expect(contract.PeeringTargetCredentials).toEqual({ ClusterID: '', Kubeconfig: '' });

    // The signature covers the contract in REAR's spelling, as GET /contracts answers it.
    const rear = await h.api('GET', `/api/v2/contracts/${contract.ContractID}`, C);
    const { Signature, ...unsigned } = rear.body;
    expect(JSON.parse(bought.body).signature).toBe(Signature);
    const jwks = (await h.api('GET', '/api/v2/keys')).body;
    const verified = await compactVerify(Signature, createLocalJWKSet(jwks));
    expect(JSON.parse(new TextDecoder().decode(verified.payload))).toEqual(unsigned);

    // A replay answers the same bytes; a read after the purchase says so, in the dialect.
    const again = await goRequest(h.url, 'POST', path, purchaseBody, C);
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(bought.body);
    const after = await goRequest(
      h.url,
      'GET',
      `/api/v2/transactions/${tx.TransactionID}`,
      undefined,
      C,
    );
    expect(JSON.parse(after.body).status).toBe('purchased');
    // A purchase retried with REAR's body is still answered in the transaction's dialect.
    const rearRetry = await h.api('POST', path, C, {});
    expect(rearRetry.text).toBe(bought.body);

    // Neither the kubeconfig nor the credentials were stored.
    await h.app.close();
    expect(storedBytes(h.dbPath)).not.toContain(SECRET);
  });

  it('buys a service with its ServiceConfiguration; the contract flavor reads as its flat ServiceFlavor', async () => {
    const h = await hub();
    const template = JSON.stringify({
      type: 'object',
      required: ['username'],
      properties: { username: { type: 'string' } },
    });
    const pub = await h.api('POST', '/api/v2/flavors', P, {
      type: {
        name: 'service',
        data: {
          Characteristics: {
            Name: 'db',
            Description: 'A database',
            Category: 'database',
            Tags: ['sql'],
            HostingPolicies: ['Provider', 'Consumer'],
            ConfigurationTemplate: template,
          },
        },
      },
      price: { amount: '2', currency: 'EUR', period: 'hour' },
    });
    expect(pub.status).toBe(201);
    const configuration = (configurationData: unknown) => ({
      Type: 'service',
      Data: JSON.parse(
        goMarshal(st(go.ServiceConfiguration), {
          HostingPolicy: 'Provider',
          ConfigurationData: configurationData,
        }),
      ),
    });
    const body = (configurationData: unknown) =>
      goMarshal(st(go.ReserveRequest), {
        FlavorID: pub.body.flavorId,
        Buyer: { ...NODE, AdditionalInformation: { LiqoID: 'liqo-cons-0' } },
        Configuration: configuration(configurationData),
      });
    // A configuration the template refuses is a failure to the node (422).
    const refused = await goRequest(h.url, 'POST', '/api/v2/reservations', body({}), C);
    expect(refused.status).toBe(422);
    const reserved = await goRequest(
      h.url,
      'POST',
      '/api/v2/reservations',
      body({ username: 'u' }),
      C,
    );
    expect(reserved.status).toBe(200);
    const tx = goUnmarshal(st(go.Transaction), reserved.body);
    expect(goDecode(st(go.ServiceConfiguration), tx.Configuration.Data)).toEqual({
      HostingPolicy: 'Provider',
      ConfigurationData: { username: 'u' },
    });
    const path = `/api/v2/transactions/${tx.TransactionID}/purchase`;
    const bought = await goRequest(h.url, 'POST', path, purchaseRequest(), C);
    expect(bought.status).toBe(200);
    const contract = goUnmarshal(st(go.Contract), bought.body);
    expect(goDecode(st(go.ServiceFlavor), contract.Flavor.Type.Data)).toEqual({
      Name: 'db',
      Description: 'A database',
      Category: 'database',
      Tags: ['sql'],
      HostingPolicies: ['Provider', 'Consumer'],
      ConfigurationTemplate: template,
    });
    // The contract in REAR's spelling keeps the configuration REAR's way.
    const rear = await h.api('GET', `/api/v2/contracts/${contract.ContractID}`, C);
    expect(rear.body.Configuration).toEqual({
      type: 'service',
      data: { HostingPolicy: 'Provider', ConfigurationData: { username: 'u' } },
    });
  });

  it('reserves a partition with a GPU the way the node spells it ({model, cores, memory})', async () => {
    const h = await hub();
    const pub = await h.api(
      'POST',
      '/api/v2/flavors',
      P,
      (() => {
        const f = k8slice({}, { gpuMin: '1', gpuStep: '1' }) as any;
        f.type.data.characteristics.gpu = { model: 'A100', cores: '4', memory: '40Gi' };
        return f;
      })(),
    );
    expect(pub.status).toBe(201);
    const reserved = await goRequest(
      h.url,
      'POST',
      '/api/v2/reservations',
      goMarshal(st(go.ReserveRequest), {
        FlavorID: pub.body.flavorId,
        Buyer: NODE,
        Configuration: {
          Type: 'k8slice',
          Data: JSON.parse(
            goMarshal(st(go.K8SliceConfiguration), {
              CPU: '1',
              Memory: '1Gi',
              Pods: '10',
              Gpu: { Model: 'A100', Cores: '2', Memory: '20Gi' },
            }),
          ),
        },
      }),
      C,
    );
    expect(reserved.status, reserved.body).toBe(200);
    const txId = goUnmarshal(st(go.Transaction), reserved.body).TransactionID as string;
    const bought = await goRequest(h.url, 'POST', `/api/v2/transactions/${txId}/purchase`, '{}', C);
    const data = goDecode(
      st(go.K8Slice),
      goUnmarshal(st(go.Contract), bought.body).Flavor.Type.Data,
    ) as any;
    expect(data.Characteristics.Gpu).toEqual({ Model: 'A100', Cores: '2', Memory: '40Gi' });
  });

  it('remembers the dialect across a restart: read and purchase still answer in it', async () => {
    const { dir, path: dbPath } = tempDbPath();
    dirs.push(dir);
    const first = await startHub({ dbPath });
    const flavorId = await publishPartitionable(first);
    const reserved = await goRequest(
      first.url,
      'POST',
      '/api/v2/reservations',
      reserveRequest(flavorId),
      C,
    );
    const txId = JSON.parse(reserved.body).transactionID as string;
    await first.close();

    const second = await startHub({ dbPath });
    try {
      const read = await goRequest(second.url, 'GET', `/api/v2/transactions/${txId}`, undefined, C);
      expect(JSON.parse(read.body)).toMatchObject({ transactionID: txId, status: 'reserved' });
      const bought = await second.api('POST', `/api/v2/transactions/${txId}/purchase`, C);
      expect(bought.status).toBe(200);
      expect(goUnmarshal(st(go.Contract), bought.text).ContractID).not.toBe('');
      expect(bought.body.contractID).toBeDefined();
      expect(bought.body.ContractID).toBeUndefined();
    } finally {
      await second.close();
    }
  });

  it('a REAR-spelled reservation of the same hub stays in REAR spelling', async () => {
    const h = await hub();
    const flavorId = await publishPartitionable(h);
    const r = await h.api('POST', '/api/v2/reservations', C, { FlavorID: flavorId });
    expect(r.status).toBe(200);
    expect(r.body.TransactionID).toBeDefined();
    const bought = await h.api('POST', `/api/v2/transactions/${r.body.TransactionID}/purchase`, C, {
      LiqoCredentials: { clusterID: 'x', token: 't' },
    });
    expect(bought.body.ContractID).toBeDefined();
    expect(bought.body.contractID).toBeUndefined();
  });

  it("lists with its filter[...] encoding on /flavors/k8slice; what it reads there (and what it can't)", async () => {
    const h = await hub();
    const flavorId = await publishPartitionable(h);
    // encodeK8SliceSelector's output for an architecture match and a cpu / memory range.
    const q =
      'filter[architecture][match]=amd64&filter[cpu][range][min]=2&filter[memory][range][max]=64Gi';
    const listed = await goRequest(h.url, 'GET', `/api/v2/flavors/k8slice?${q}`, undefined, C);
    expect(listed.status).toBe(200);
    const flavors = goUnmarshal({ slice: st(go.Flavor) }, listed.body) as any[];
    expect(flavors.map((f) => f.FlavorID)).toEqual([flavorId]);
    const f = flavors[0];
    expect(f.ProviderID).toBe('prov-a');
    expect(f.Owner.IP).toBe('10.0.0.1');
    expect(f.Owner.Domain).toBe('a.test');
    expect(f.Availability).toBe(true);
    // A listing has no dialect: REAR's owner.nodeId does not fold into the node's "ID", and
    // REAR's characteristics do not fold into its misspelt "charateristics" (docs/fluidos.md).
    expect(f.Owner.NodeID).toBe('');
    expect((goDecode(st(go.K8Slice), f.Type.Data) as any).Characteristics.CPU).toBe('');
    // Nothing matches: 200 with [] (the node also accepts 204).
    const none = await goRequest(
      h.url,
      'GET',
      '/api/v2/flavors/k8slice?filter[cpu][range][min]=64',
      undefined,
      C,
    );
    expect(none.status).toBe(200);
    expect(goUnmarshal({ slice: st(go.Flavor) }, none.body)).toEqual([]);
    // Its storage filter is encoded without "filter" ([storage][range][min]=…): refused.
    const storage = await goRequest(
      h.url,
      'GET',
      '/api/v2/flavors/k8slice?[storage][range][min]=1Gi',
      undefined,
      C,
    );
    expect(storage.status).toBe(400);
  });

  it('anything but 200 is a failure to the node: unknown flavor 404, a buyer that is not the caller 403', async () => {
    const h = await hub();
    const unknown = await goRequest(
      h.url,
      'POST',
      '/api/v2/reservations',
      reserveRequest('fl-none', false),
      C,
    );
    expect(unknown.status).toBe(404);
    const flavorId = await publishPartitionable(h);
    const otherNode = await goRequest(
      h.url,
      'POST',
      '/api/v2/reservations',
      reserveRequest(flavorId, false),
      'tok-consumer-1',
    );
    expect(otherNode.status).toBe(403);
    expect(JSON.parse(otherNode.body).code).toBe('FORBIDDEN');
  });
});
