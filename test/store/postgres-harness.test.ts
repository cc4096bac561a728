/**
 * The throwaway PostgreSQL cluster the PostgreSQL tests run on (test/helpers/postgres.ts):
 * it answers queries, keeps committed data across a restart and a SIGKILL, refuses
 * connections while down, and leaves nothing behind when stopped.
 */
import { existsSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startPostgres, withPostgres } from '../helpers/postgres.js';

const cluster = withPostgres();

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {}); // A server going away is what some of these tests do.
  await client.connect();
  return client;
}

async function count(url: string): Promise<number> {
  const client = await connect(url);
  try {
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM kept');
    return Number(rows[0]?.n);
  } finally {
    await client.end();
  }
}

describe('a throwaway PostgreSQL cluster', () => {
  it('answers on its url, as PostgreSQL 15+, durable by default, with room for several hubs', async () => {
    const c = cluster();
    expect(c.url).toBe(`postgres://postgres@127.0.0.1:${c.port}/rear`);
    const client = await connect(c.url);
    try {
      const { rows } = await client.query<Record<string, string>>(
        `SELECT 40 + 2 AS answer, current_database() AS db, current_user AS who,
                current_setting('server_version_num') AS version,
                current_setting('fsync') AS fsync,
                current_setting('synchronous_commit') AS sync,
                current_setting('max_connections') AS max,
                current_setting('data_directory') AS data`,
      );
      expect(rows[0]).toMatchObject({
        answer: 42,
        db: 'rear',
        who: 'postgres',
        fsync: 'on',
        sync: 'on',
        max: '200',
        data: c.dataDir,
      });
      expect(Number(rows[0]?.version)).toBeGreaterThanOrEqual(150000);
      await client.query('CREATE TABLE kept (id int PRIMARY KEY)');
      await client.query('INSERT INTO kept SELECT generate_series(1, 100)');
    } finally {
      await client.end();
    }
  });

  it('restart() cuts every connection and keeps the data', async () => {
    const c = cluster();
    const before = await connect(c.url);
    await c.restart();
    expect(c.running).toBe(true);
    await expect(before.query('SELECT 1')).rejects.toThrow();
    expect(await count(c.url)).toBe(100);
  });

  it('refuses connections while down, and recovers every commit after a SIGKILL', async () => {
    const c = cluster();
    const client = await connect(c.url);
    await client.query('INSERT INTO kept SELECT generate_series(101, 150)');
    await c.kill();
    expect(c.running).toBe(false);
    await expect(client.query('SELECT 1')).rejects.toThrow();
    await expect(connect(c.url)).rejects.toThrow(/ECONNREFUSED/);
    await c.start();
    expect(await count(c.url)).toBe(150);
    expect(c.lastStartLog()).toMatch(/not properly shut down|interrupted/);

    await c.shutdown('fast');
    await expect(connect(c.url)).rejects.toThrow(/ECONNREFUSED/);
    await c.start();
    expect(await count(c.url)).toBe(150);
  });

  it('creates and drops databases of their own', async () => {
    const c = cluster();
    const a = await c.createDatabase();
    const b = await c.createDatabase('named_one');
    expect(new Set([a, b, c.url]).size).toBe(3);
    expect(b).toBe(c.urlFor('named_one'));
    const client = await connect(a);
    const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
    expect(a.endsWith(`/${rows[0]?.db}`)).toBe(true);
    await c.dropDatabase('named_one');
    await expect(connect(b)).rejects.toThrow(/does not exist/);
    await client.end();
    await expect(c.createDatabase('Robert"; DROP')).rejects.toThrow(/database name/);
  });

  it('fsync: false turns durability off; stop() is idempotent and removes everything', async () => {
    const quick = await startPostgres({ fsync: false, database: 'other' });
    const client = await connect(quick.url);
    const { rows } = await client.query<{ f: string; s: string }>(
      "SELECT current_setting('fsync') AS f, current_setting('synchronous_commit') AS s",
    );
    expect(rows[0]).toEqual({ f: 'off', s: 'off' });
    await client.end();
    await quick.kill(); // A SIGKILL first: stop() must still clean up.
    await quick.stop();
    await quick.stop();
    expect(existsSync(quick.dir)).toBe(false);
    await expect(connect(quick.url)).rejects.toThrow(/ECONNREFUSED/);
    await expect(quick.start()).rejects.toThrow(/stopped/);
  });
});
