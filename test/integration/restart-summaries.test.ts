/**
 * A restart makes catalog entries from the flavors' summaries (src/domain/flavor-summary.ts).
 * A store written before summaries still loads every flavor with its facts, has its summaries
 * written after open (never over a later change), and the next start reads them; the SQLite
 * store's snapshot read at open serves the first load only while it still shows the store.
 */
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock.js';
import { factsOf } from '../../src/domain/flavor-facts.js';
import { summaryOf } from '../../src/domain/flavor-summary.js';
import { newFlavor } from '../../src/domain/offers.js';
import type { Principal } from '../../src/domain/principal.js';
import { compileSelector } from '../../src/domain/selector.js';
import { MIGRATIONS } from '../../src/store/sqlite-migrations.js';
import { SqliteStore } from '../../src/store/store-sqlite.js';
import type { StoredFlavor } from '../../src/store/store.js';
import type { Flavor } from '../../src/types/wire.js';
import { k8slice, tempDbPath } from '../helpers/hub.js';
import { openMarket } from '../helpers/market.js';
import { loadAll } from '../store/store-suite.js';

const provider: Principal = {
  role: 'provider',
  identity: { Domain: 'p', NodeID: 'prov', IP: '1' },
};

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const { dir, path } = tempDbPath();
  dirs.push(dir);
  return path;
}

interface Row {
  flavor_id: string;
  status: string;
  json: string;
  summary: string | null;
}

const rows = (path: string): Row[] => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT flavor_id, status, json, summary FROM flavors').all() as Row[];
  } finally {
    db.close();
  }
};

describe('flavor summaries across restarts', () => {
  it('loads flavors stored before summaries, writes theirs after open, and reads them next time', async () => {
    const path = tempDb();
    const clock = new FakeClock();
    const flavors = Array.from({ length: 40 }, (_, i) =>
      newFlavor(
        provider,
        k8slice(
          { cpu: String(1 + (i % 5)), architecture: i % 2 ? 'arm64' : 'amd64' },
          i % 3 ? undefined : {},
        ),
        clock.now(),
        3600,
      ),
    );
    // The store as a hub left it before summaries (schema version 3).
    const db = new Database(path);
    db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL)');
    db.prepare('INSERT INTO schema_version (version) VALUES (3)').run();
    for (const sql of MIGRATIONS.slice(0, 3)) db.exec(sql);
    const insert = db.prepare(
      `INSERT INTO flavors (flavor_id, provider_id, status, json, expires_at, auto_renew, ttl_seconds)
       VALUES (?, ?, 'live', ?, ?, 1, 3600)`,
    );
    for (const f of flavors)
      insert.run(f.flavorId, f.providerId, JSON.stringify(f), Date.parse(f.expirationTime));
    db.close();

    const store = new SqliteStore(path);
    const market = await openMarket(clock, { store, flavorTtlSeconds: 3600 });
    for (const f of flavors) expect(market.catalog.get(f.flavorId)?.facts).toEqual(factsOf(f));
    const arm = compileSelector('k8slice', {
      architecture: { match: 'arm64' },
      cpu: { range: { min: '3' } },
    });
    const want = flavors
      .filter((f) => arm.test(factsOf(f)))
      .map((f) => f.flavorId)
      .sort();
    expect(want.length).toBeGreaterThan(0);
    expect(
      market.catalog
        .list(arm, 'k8slice')
        .map((e) => e.flavorId)
        .sort(),
    ).toEqual(want);
    // Changed before their summaries are written: the summaries must not undo the changes.
    const [gone, refreshed] = flavors as [Flavor, Flavor];
    await Promise.all([
      market.offers.withdraw(provider, gone.flavorId),
      market.catalog.refresh(provider, refreshed.flavorId, {
        price: { amount: '9.99', currency: 'EUR', period: 'hour' },
      }),
    ]);
    await market.ready;
    market.close();
    await store.close();

    const after = rows(path);
    expect(after.find((r) => r.flavor_id === gone.flavorId)?.status).toBe('withdrawn');
    const live = after.filter((r) => r.status === 'live');
    expect(live).toHaveLength(flavors.length - 1);
    for (const r of live) expect(r.summary).toBe(summaryOf(JSON.parse(r.json) as Flavor));
    const row = live.find((r) => r.flavor_id === refreshed.flavorId);
    expect((JSON.parse(row?.json ?? '{}') as Flavor).price.amount).toBe('9.99');

    // The next start reads the summaries: the same catalog.
    const again = new SqliteStore(path);
    const next = await openMarket(clock, { store: again, flavorTtlSeconds: 3600 });
    for (const r of live) {
      const f = JSON.parse(r.json) as Flavor;
      const e = next.catalog.get(f.flavorId);
      expect(e?.facts).toEqual(factsOf(f));
      expect(e?.json).toBe(r.json);
      expect(e?.flavor).toEqual(f);
    }
    expect(next.catalog.get(gone.flavorId)).toBeUndefined();
    await next.ready;
    next.close();
    await again.close();
  });

  it('serves the first load from the snapshot read at open, unless a commit came first', async () => {
    const path = tempDb();
    const flavor = (id: string): StoredFlavor => ({
      flavorId: id,
      providerId: 'prov-a',
      status: 'live',
      json: JSON.stringify({ flavorId: id }),
      expiresAt: 1000,
      autoRenew: true,
      ttlSeconds: 60,
    });
    const ids = async (s: SqliteStore) => (await loadAll(s)).flavors.map((f) => f.flavorId);
    const first = new SqliteStore(path);
    await first.commit({ flavors: [flavor('a')] });
    await first.close();
    // Read at open (perhaps to its end before the load asks for it), taken by the first load.
    const second = new SqliteStore(path);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await ids(second)).toEqual(['a']);
    await second.commit({ flavors: [flavor('b')] });
    expect(await ids(second)).toEqual(['a', 'b']);
    await second.close();
    // A commit before the first load: that snapshot no longer shows the store.
    const third = new SqliteStore(path);
    await third.commit({ flavors: [flavor('c')] });
    expect(await ids(third)).toEqual(['a', 'b', 'c']);
    await third.close();
    // Closed without a load: the snapshot read at open is waited for, not left running.
    await new SqliteStore(path).close();
  });
});
