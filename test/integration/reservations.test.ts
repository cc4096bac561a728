import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock.js';
import {
  k8slice,
  sleep,
  hubsClosedAfterEach,
  tempDbPath,
  type ApiResponse,
  type TestHub,
} from '../helpers/hub.js';

const hub = hubsClosedAfterEach();

const P = 'tok-provider-a';
const A = 'tok-admin-xyz';
const C = (i: number) => `tok-consumer-${i}`;

async function publish(h: TestHub, body: unknown = k8slice()): Promise<string> {
  const r = await h.api('POST', '/api/v2/flavors', P, body);
  expect(r.status).toBe(201);
  return r.body.flavorId as string;
}

const reserve = (
  h: TestHub,
  i: number,
  flavorId: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) => h.api('POST', '/api/v2/reservations', C(i), { FlavorID: flavorId, ...extra }, headers);

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

const stats = (h: TestHub) => h.app.market.reservations.stats();

describe('RESERVE_FLAVOR: one lock per flavor and a line', () => {
  it('50 buyers at once: one hold, 49 wait; the purchase answers every waiter 404', async () => {
    const h = await hub({ consumers: 50 });
    const f = await publish(h);
    const answered: ApiResponse[] = [];
    const all = Array.from({ length: 50 }, (_, i) =>
      reserve(h, i, f).then((r) => (answered.push(r), r)),
    );
    await until(() => stats(h).holds === 1 && stats(h).waiters === 49 && answered.length === 1);
    await sleep(100);
    expect(answered).toHaveLength(1);
    const winner = answered[0] as ApiResponse;
    expect(winner.status).toBe(200);
    const tx = winner.body;
    expect(Date.parse(tx.ExpirationTime) - Date.now()).toBeGreaterThan(55_000);
    const buyer = Number(tx.Buyer.NodeID.split('-')[1]);
    const bought = await h.api(
      'POST',
      `/api/v2/transactions/${tx.TransactionID}/purchase`,
      C(buyer),
    );
    expect(bought.status).toBe(200);
    const rest = await Promise.all(all);
    const statuses = rest.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 404)).toHaveLength(49);
    for (const r of rest) if (r.status === 404) expect(r.body.code).toBe('FLAVOR_NOT_FOUND');
    expect(stats(h)).toEqual({ holds: 0, waiters: 0 });
    expect((await h.api('GET', `/api/v2/flavors/${f}`, C(0))).status).toBe(404);
  });

  it('when the TTP runs out, the next waiter in arrival order gets the hold', async () => {
    const h = await hub({ consumers: 50, ttpSeconds: 1 });
    const f = await publish(h);
    const order: number[] = [];
    const first = await reserve(h, 0, f);
    expect(first.status).toBe(200);
    const pending: Array<Promise<ApiResponse>> = [];
    for (let i = 1; i < 50; i++) {
      pending.push(
        reserve(h, i, f, {}, { prefer: 'wait=30' }).then((r) => {
          if (r.status === 200) order.push(i);
          return r;
        }),
      );
      await until(() => stats(h).waiters === i);
    }
    // Three Times To Purchase run out, one after another (~3 s; more on a loaded machine).
    await until(() => order.length === 3, 15_000);
    expect(order).toEqual([1, 2, 3]);
    await h.api('POST', `/api/v2/flavors/${f}/withdraw`, P);
    const rest = await Promise.all(pending);
    expect(rest.filter((r) => r.status === 404)).toHaveLength(46);
    const tx = await h.api('GET', `/api/v2/transactions/${first.body.TransactionID}`, C(0));
    expect(tx.body.Status).toBe('expired');
  }, 40_000);

  it('Prefer: wait=0 answers 409 at once; wait=1 expires into 409, both with Retry-After', async () => {
    const h = await hub();
    const f = await publish(h);
    expect((await reserve(h, 0, f)).status).toBe(200);
    const now = await reserve(h, 1, f, {}, { prefer: 'wait=0' });
    expect(now.status).toBe(409);
    expect(now.body.code).toBe('FLAVOR_RESERVED');
    expect(Number(now.headers.get('retry-after'))).toBeGreaterThanOrEqual(55);
    const t0 = Date.now();
    const later = await reserve(h, 1, f, {}, { prefer: 'wait=1' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(later.status).toBe(409);
    expect(later.headers.get('retry-after')).toBeTruthy();
    expect(later.headers.get('preference-applied')).toBe('wait=1');
    expect(stats(h).waiters).toBe(0);
  });

  it('the same buyer reserving again while its hold is live gets the same transaction', async () => {
    const h = await hub();
    const f = await publish(h);
    const a = await reserve(h, 0, f);
    const b = await reserve(h, 0, f);
    expect(b.status).toBe(200);
    expect(b.body).toEqual(a.body);
  });

  it('a client that disconnects while waiting leaves the line', async () => {
    const h = await hub();
    const f = await publish(h);
    await reserve(h, 0, f);
    const ac = new AbortController();
    const gone = fetch(`${h.url}/api/v2/reservations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${C(1)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ FlavorID: f }),
      signal: ac.signal,
    }).catch(() => 'aborted');
    await until(() => stats(h).waiters === 1);
    ac.abort();
    expect(await gone).toBe('aborted');
    await until(() => stats(h).waiters === 0);
  });

  it('rejects unknown, withdrawn and sold flavors with 404, and another Buyer with 403', async () => {
    const h = await hub();
    expect((await reserve(h, 0, 'fl-none')).body.code).toBe('FLAVOR_NOT_FOUND');
    const f = await publish(h);
    const other = await reserve(h, 0, f, {
      Buyer: { Domain: 'c1.test', NodeID: 'cons-1', IP: '10.1.0.1' },
    });
    expect(other.status).toBe(403);
    const self = await reserve(h, 0, f, {
      Buyer: { Domain: 'c0.test', NodeID: 'cons-0', IP: '10.1.0.0' },
    });
    expect(self.status).toBe(200);
    await h.api('POST', `/api/v2/flavors/${f}/withdraw`, P);
    expect((await reserve(h, 1, f)).status).toBe(404);
    expect((await h.api('POST', '/api/v2/reservations', C(0), { FlavorID: 1 })).status).toBe(400);
    expect((await h.api('POST', '/api/v2/reservations', C(0), {})).status).toBe(400);
  });
});

describe('partitions and configurations', () => {
  const partitionable = k8slice({ cpu: '3', memory: '3Gi', pods: '30' }, {});
  const part = (cpu: string, memory = '1Gi', pods = '10') => ({
    Configuration: { type: 'k8slice', data: { cpu, memory, pods } },
  });

  it('three holds fit, the fourth waits and is served when one is cancelled', async () => {
    const h = await hub({ consumers: 4 });
    const f = await publish(h, partitionable);
    const holds = await Promise.all([0, 1, 2].map((i) => reserve(h, i, f, part('1'))));
    expect(holds.map((r) => r.status)).toEqual([200, 200, 200]);
    let fourthDone = false;
    const fourth = reserve(h, 3, f, part('1')).then((r) => ((fourthDone = true), r));
    await until(() => stats(h).waiters === 1);
    await sleep(50);
    expect(fourthDone).toBe(false);
    // Holds stay listed: the capacity is not sold yet.
    expect(
      (await h.api('GET', `/api/v2/flavors/${f}`, C(3))).body.type.data.characteristics.cpu,
    ).toBe('3');
    const cancel = await h.api(
      'DELETE',
      `/api/v2/transactions/${holds[1]!.body.TransactionID}`,
      C(1),
    );
    expect(cancel.status).toBe(204);
    const served = await fourth;
    expect(served.status).toBe(200);
    expect(
      (await h.api('GET', `/api/v2/transactions/${holds[1]!.body.TransactionID}`, C(1))).body
        .Status,
    ).toBe('cancelled');
  });

  it('a partition sale shrinks the listing; a sale under the minimum sells it out', async () => {
    const h = await hub({ consumers: 3 });
    const f = await publish(h, partitionable);
    const t = (await reserve(h, 0, f, part('2', '2Gi', '20'))).body;
    const c = await h.api('POST', `/api/v2/transactions/${t.TransactionID}/purchase`, C(0));
    expect(c.status).toBe(200);
    expect(c.body.Flavor.type.data.characteristics).toEqual({
      architecture: 'amd64',
      cpu: '2',
      memory: '2Gi',
      pods: '20',
    });
    // Sold, a partition is not partitionable: empty policies (REAR's k8slice requires the object).
    expect(c.body.Flavor.type.data.policies).toEqual({});
    expect(c.body.Configuration).toEqual(part('2', '2Gi', '20').Configuration);
    const left = (await h.api('GET', `/api/v2/flavors/${f}`, C(1))).body;
    expect(left.type.data.characteristics).toMatchObject({ cpu: '1', memory: '1Gi', pods: '10' });
    // Asking for more than is left is now a 422 (more than unsold).
    expect((await reserve(h, 1, f, part('2'))).status).toBe(422);
    const t2 = (await reserve(h, 1, f, part('1'))).body;
    expect(
      (await h.api('POST', `/api/v2/transactions/${t2.TransactionID}/purchase`, C(1))).status,
    ).toBe(200);
    expect((await h.api('GET', `/api/v2/flavors/${f}`, C(2))).status).toBe(404);
  });

  it('configurations outside the policy → 422 INVALID_CONFIGURATION', async () => {
    const h = await hub();
    const f = await publish(h, partitionable);
    const whole = await publish(h, k8slice());
    const sensor = await publish(h, {
      type: { name: 'sensor', data: { Characteristics: { SensorType: 'temperature' } } },
      price: { amount: '0.01', currency: 'EUR', period: 'hour' },
    });
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      [f, part('500m'), /below minimum/],
      [f, part('1500m'), /off the step grid/],
      [f, part('4'), /more than is unsold/],
      [f, part('1', '512Mi'), /memory .* below minimum/],
      [f, part('1', '1Gi', '15'), /pods .* off the step grid/],
      [f, { Configuration: { type: 'k8slice', data: { cpu: '1' } } }, /memory/],
      [
        f,
        { Configuration: { type: 'k8slice', data: { cpu: 'x', memory: '1Gi', pods: '10' } } },
        /cpu/,
      ],
      [f, { Configuration: { type: 'vm', data: { Count: 1 } } }, /does not fit/],
      [whole, part('1'), /not partitionable/],
      [sensor, { Configuration: { type: 'sensor', data: {} } }, /sensor/],
    ];
    for (const [flavorId, extra, why] of cases) {
      const r = await reserve(h, 0, flavorId, extra);
      expect(r.status, JSON.stringify(extra)).toBe(422);
      expect(r.body.code).toBe('INVALID_CONFIGURATION');
      expect(r.body.message).toMatch(why);
    }
    expect(stats(h)).toEqual({ holds: 0, waiters: 0 });
  });

  it('aggregatable vm: Count within MinCount..unsold, the listing counts machines left', async () => {
    const h = await hub({ consumers: 3 });
    const f = await publish(h, {
      type: {
        name: 'vm',
        data: {
          Characteristics: { CPU: 2, Memory: 4096 },
          Policy: { Aggregatable: { MinCount: 2, MaxCount: 5 } },
        },
      },
      price: { amount: '0.10', currency: 'EUR', period: 'hour' },
    });
    const vmConf = (n: number) => ({ Configuration: { type: 'vm', data: { Count: n } } });
    expect((await reserve(h, 0, f, vmConf(1))).body.message).toMatch(/below MinCount/);
    expect((await reserve(h, 0, f, vmConf(6))).body.message).toMatch(/more than/);
    const t = (await reserve(h, 0, f, vmConf(3))).body;
    const c = (await h.api('POST', `/api/v2/transactions/${t.TransactionID}/purchase`, C(0))).body;
    expect(c.Flavor.type.data.Count).toBe(3);
    expect(c.Flavor.type.data.Policy).toBeUndefined();
    expect(
      (await h.api('GET', `/api/v2/flavors/${f}`, C(1))).body.type.data.Policy.Aggregatable
        .MaxCount,
    ).toBe(2);
    const t2 = (await reserve(h, 1, f, vmConf(2))).body;
    expect(
      (await h.api('POST', `/api/v2/transactions/${t2.TransactionID}/purchase`, C(1))).status,
    ).toBe(200);
    expect((await h.api('GET', `/api/v2/flavors/${f}`, C(2))).status).toBe(404);
  });

  it('service: HostingPolicy among the flavor’s, ConfigurationData valid against its template', async () => {
    const h = await hub();
    const f = await publish(h, {
      type: {
        name: 'service',
        data: {
          Characteristics: {
            Name: 'pg',
            Description: 'db',
            Category: 'database',
            Tags: [],
            HostingPolicies: ['provider'],
            ConfigurationTemplate: {
              type: 'object',
              required: ['username'],
              properties: { username: { type: 'string' } },
            },
          },
        },
      },
      price: { amount: '0.10', currency: 'EUR', period: 'hour' },
    });
    const conf = (data: unknown) => ({ Configuration: { type: 'service', data } });
    expect(
      (
        await reserve(
          h,
          0,
          f,
          conf({ HostingPolicy: 'consumer', ConfigurationData: { username: 'u' } }),
        )
      ).body.message,
    ).toMatch(/HostingPolicy/);
    expect(
      (await reserve(h, 0, f, conf({ ConfigurationData: { user: 'u' } }))).body.message,
    ).toMatch(/ConfigurationTemplate/);
    expect((await reserve(h, 0, f, conf({ HostingPolicy: 'provider' }))).status).toBe(422);
    const ok = await reserve(
      h,
      0,
      f,
      conf({ HostingPolicy: 'provider', ConfigurationData: { username: 'u' } }),
    );
    expect(ok.status).toBe(200);
    expect(ok.body.Configuration.data.ConfigurationData).toEqual({ username: 'u' });
  });
});

describe('PURCHASE_FLAVOR', () => {
  it('success, replay, other buyer, after TTP, after cancel, after withdraw', async () => {
    const h = await hub({ ttpSeconds: 1 });
    const f = await publish(h);
    const tx = (await reserve(h, 0, f)).body;
    expect((await h.api('GET', `/api/v2/transactions/${tx.TransactionID}`, C(0))).body.Status).toBe(
      'reserved',
    );
    expect(
      (await h.api('POST', `/api/v2/transactions/${tx.TransactionID}/purchase`, C(1))).status,
    ).toBe(404);
    expect((await h.api('POST', '/api/v2/transactions/tx-unknown/purchase', C(0))).body.code).toBe(
      'TRANSACTION_NOT_FOUND',
    );
    const first = await h.api('POST', `/api/v2/transactions/${tx.TransactionID}/purchase`, C(0), {
      LiqoCredentials: { token: 's' },
    });
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const c = first.body;
    expect(c.ContractID).toMatch(/^ct-/);
    expect(c.TransactionID).toBe(tx.TransactionID);
    expect(c.Buyer.NodeID).toBe('cons-0');
    expect(c.Seller).toEqual({ Domain: 'a.test', NodeID: 'prov-a', IP: '10.0.0.1' });
    expect(c.Flavor.flavorId).toBe(f);
    expect(Date.parse(c.ExpirationTime) - Date.parse(c.Timestamp)).toBe(30 * 86_400_000);
    const replay = await h.api('POST', `/api/v2/transactions/${tx.TransactionID}/purchase`, C(0));
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(c);
    expect((await h.api('GET', `/api/v2/transactions/${tx.TransactionID}`, C(0))).body.Status).toBe(
      'purchased',
    );
    expect((await h.api('GET', `/api/v2/transactions/${tx.TransactionID}`, C(1))).status).toBe(404);
    expect((await h.api('GET', `/api/v2/transactions/${tx.TransactionID}`, A)).status).toBe(200);

    // Contracts: buyer, seller and admin see it; others do not.
    expect((await h.api('GET', `/api/v2/contracts/${c.ContractID}`, C(0))).body).toEqual(c);
    expect((await h.api('GET', `/api/v2/contracts/${c.ContractID}`, P)).status).toBe(200);
    expect((await h.api('GET', `/api/v2/contracts/${c.ContractID}`, A)).status).toBe(200);
    expect((await h.api('GET', `/api/v2/contracts/${c.ContractID}`, C(1))).body.code).toBe(
      'CONTRACT_NOT_FOUND',
    );
    expect((await h.api('GET', '/api/v2/contracts', C(0))).body).toEqual([c]);
    expect((await h.api('GET', '/api/v2/contracts', P)).body).toEqual([c]);
    expect((await h.api('GET', '/api/v2/contracts', C(1))).body).toEqual([]);

    // After the TTP.
    const g = await publish(h);
    const late = (await reserve(h, 0, g)).body;
    await sleep(1100);
    const expired = await h.api(
      'POST',
      `/api/v2/transactions/${late.TransactionID}/purchase`,
      C(0),
    );
    expect(expired.status).toBe(410);
    expect(expired.body.code).toBe('TRANSACTION_EXPIRED');
    expect(
      (await h.api('GET', `/api/v2/transactions/${late.TransactionID}`, C(0))).body.Status,
    ).toBe('expired');

    // After a cancel.
    const cx = (await reserve(h, 0, g)).body;
    expect((await h.api('DELETE', `/api/v2/transactions/${cx.TransactionID}`, C(1))).status).toBe(
      404,
    );
    expect((await h.api('DELETE', `/api/v2/transactions/${cx.TransactionID}`, C(0))).status).toBe(
      204,
    );
    expect((await h.api('DELETE', `/api/v2/transactions/${cx.TransactionID}`, C(0))).status).toBe(
      204,
    );
    expect(
      (await h.api('POST', `/api/v2/transactions/${cx.TransactionID}/purchase`, C(0))).status,
    ).toBe(410);

    // After the provider's withdraw.
    const wx = (await reserve(h, 0, g)).body;
    await h.api('POST', `/api/v2/flavors/${g}/withdraw`, P);
    expect(
      (await h.api('POST', `/api/v2/transactions/${wx.TransactionID}/purchase`, C(0))).status,
    ).toBe(410);
    expect((await h.api('GET', `/api/v2/transactions/${wx.TransactionID}`, C(0))).body.Status).toBe(
      'cancelled',
    );
  });

  it('concurrent purchases of one transaction yield one contract', async () => {
    const h = await hub();
    const f = await publish(h);
    const tx = (await reserve(h, 0, f)).body;
    const rs = await Promise.all(
      Array.from({ length: 10 }, () =>
        h.api('POST', `/api/v2/transactions/${tx.TransactionID}/purchase`, C(0)),
      ),
    );
    expect(rs.every((r) => r.status === 200)).toBe(true);
    expect(new Set(rs.map((r) => r.body.ContractID)).size).toBe(1);
    expect(rs.filter((r) => r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
  });
});

describe('restart', () => {
  it('a live hold survives with its remaining time; an expired one is released; contracts stay', async () => {
    const { path } = tempDbPath();
    // One fake clock across both processes' lifetimes: time moves only when told, so a
    // restart that is slow on a loaded machine cannot eat the live hold's remaining TTP.
    const clock = new FakeClock(Date.now());
    const first = await hub({ dbPath: path, ttpSeconds: 6, clock });
    const a = await publish(first);
    const b = await publish(first);
    const c = await publish(first);
    const sold = (await reserve(first, 2, c)).body;
    const contract = (
      await first.api('POST', `/api/v2/transactions/${sold.TransactionID}/purchase`, C(2))
    ).body;
    const shortHold = (await reserve(first, 1, b)).body;
    clock.advance(3000);
    const liveHold = (await reserve(first, 0, a)).body;
    await first.close();
    // The hold on b (6 s TTP, taken 3 s earlier) expires while the hub is down.
    clock.advance(3100);
    const second = await hub({ dbPath: path, ttpSeconds: 6, clock });
    const st = await second.api('GET', `/api/v2/transactions/${liveHold.TransactionID}`, C(0));
    expect(st.body.Status).toBe('reserved');
    expect(st.body.ExpirationTime).toBe(liveHold.ExpirationTime);
    // Still held: another buyer waits, cannot take it.
    expect((await reserve(second, 1, a, {}, { prefer: 'wait=0' })).status).toBe(409);
    const bought = await second.api(
      'POST',
      `/api/v2/transactions/${liveHold.TransactionID}/purchase`,
      C(0),
    );
    expect(bought.status).toBe(200);
    // The expired one was released.
    expect(
      (await second.api('GET', `/api/v2/transactions/${shortHold.TransactionID}`, C(1))).body
        .Status,
    ).toBe('expired');
    expect((await reserve(second, 0, b, {}, { prefer: 'wait=0' })).status).toBe(200);
    expect(
      (await second.api('GET', `/api/v2/contracts/${contract.ContractID}`, C(2))).body,
    ).toEqual(contract);
  });
});
