/**
 * P9's floor: the hub's two sale routes answered by a bare node:http server that runs, per
 * request, the same SQL statements the hub's PostgreSQL store runs for a reserve and for a
 * purchase (src/store/store-postgres.ts `atomically`, `lock`, `write`), on rows of the sizes
 * of one of the hub's own sales, through a `pg` pool of the hub's size — and nothing else:
 * no authentication, no domain, no catalog copy, no event feed, no signing. Each statement
 * with parameters is a named prepared statement, as the store sends it (pg-prepared.ts).
 *
 *   reserve:  BEGIN; SELECT … FOR UPDATE; the json_agg read of holds, line and transaction;
 *             INSERT … json_populate_recordset (the hold); COMMIT
 *   purchase: BEGIN; SELECT flavor_id FROM transactions; SELECT … FOR UPDATE; the json_agg
 *             read; the flavor (with its summary), transaction and contract upserts; the
 *             seq counter UPDATE; the events INSERT; pg_notify; COMMIT
 *
 * Each round runs on a fresh database (`use`), as the hubs' rounds do: the schema is the
 * hub's own migrations, the flavors rows those of the hub whose sale was sampled (`from`).
 */
import { createServer, type IncomingMessage } from 'node:http';
import pg from 'pg';
import type * as PreparedModule from '../../../src/store/pg-prepared.js';
import type * as MigrationsModule from '../../../src/store/postgres-migrations.js';
import { serve } from '../lib/proc.js';

const { PG_MIGRATIONS } = (await import(
  new URL('../../../dist/src/store/postgres-migrations.js', import.meta.url).href
)) as typeof MigrationsModule;
// The store's statements are named prepared statements (parsed and planned once per
// connection): the floor sends them the same way.
const { prepared } = (await import(
  new URL('../../../dist/src/store/pg-prepared.js', import.meta.url).href
)) as typeof PreparedModule;

const opts = JSON.parse(process.argv[2] ?? '{}') as {
  /** The hub's pool size (store-postgres.ts default). */
  poolSize?: number;
};

type Row = Record<string, unknown>;

/** What one of the hub's sales wrote, and the flavors it sold from. */
interface Sample {
  flavorRows: Row[];
  flavorById: Map<string, Row>;
  tx: Row;
  contract: Row;
  /** A sale's events: the flavor's REFRESH (with the flavor before) and the buyer's CONFIRM. */
  saleEvents: Row[];
  txAnswer: string;
}
let sample: Sample | undefined;

/** Reads the sample from the database of a hub that has sold. */
async function copyFrom(url: string): Promise<Sample> {
  const source = new pg.Client({ connectionString: url });
  await source.connect();
  try {
    const flavorRows = (await source.query<Row>(`SELECT * FROM flavors WHERE status = 'live'`))
      .rows;
    const contract = (
      await source.query<Row>('SELECT * FROM contracts ORDER BY created_at DESC LIMIT 1')
    ).rows[0];
    if (!contract) throw new Error('pg-floor: the source database holds no sale yet');
    const tx = (
      await source.query<Row>('SELECT * FROM transactions WHERE transaction_id = $1', [
        contract.transaction_id,
      ])
    ).rows[0] as Row;
    const saleEvents = (
      await source.query<Row>(
        `SELECT * FROM events WHERE flavor_id = $1 AND seq > (
           SELECT coalesce(max(seq), 0) - 2 FROM events WHERE flavor_id = $1) ORDER BY seq`,
        [tx.flavor_id],
      )
    ).rows;
    return {
      flavorRows,
      flavorById: new Map(flavorRows.map((f) => [f.flavor_id as string, f])),
      tx,
      contract,
      saleEvents,
      txAnswer: `${(tx.json as string).slice(0, -1)},"Status":"reserved"}`,
    };
  } finally {
    await source.end();
  }
}

// Ids of the sample's length, so that rows and answers keep their size.
const id = (template: string, n: number) =>
  template.slice(0, template.length - 10) + String(n).padStart(10, '0');
let count = 0;

let pool: pg.Pool | undefined;

/** Switches to a fresh database (`from`: first copy the sample from a hub's database). */
async function use(url: string, from: string | undefined): Promise<void> {
  if (from) sample = await copyFrom(from);
  if (!sample) throw new Error('pg-floor: no sample to copy yet');
  const { flavorRows } = sample;
  await pool?.end();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  for (const sql of PG_MIGRATIONS) await c.query(sql);
  await c.query(`INSERT INTO flavors SELECT * FROM json_populate_recordset(null::flavors, $1)`, [
    JSON.stringify(flavorRows),
  ]);
  await c.end();
  pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    options: '-c idle_in_transaction_session_timeout=10000',
  });
  // A database dropped once its round is over closes the idle connections: not a crash.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
}

/** The statements of store-postgres.ts `lock`, after BEGIN. */
async function lock(c: pg.PoolClient, flavorId: string, txId: string | null): Promise<void> {
  await prepared(
    c,
    'SELECT flavor_id, provider_id, status, json, expires_at, auto_renew, ttl_seconds FROM flavors WHERE flavor_id = $1 FOR UPDATE',
    [flavorId],
  );
  await prepared(
    c,
    `SELECT
       (SELECT coalesce(json_agg(t), '[]') FROM transactions t
          WHERE t.flavor_id = $1 AND t.status = 'reserved') AS holds,
       (SELECT coalesce(json_agg(w ORDER BY w.line_pos), '[]') FROM waiters w
          WHERE w.flavor_id = $1) AS waiters,
       (SELECT row_to_json(t) FROM transactions t WHERE t.transaction_id = $2) AS tx`,
    [flavorId, txId],
  );
}

const upsertTransactions = `INSERT INTO transactions (transaction_id, flavor_id, buyer_id, status, expires_at, json, hold_key, dialect)
   SELECT transaction_id, flavor_id, buyer_id, status, expires_at, json, hold_key, dialect
     FROM json_populate_recordset(null::transactions, $1)
   ON CONFLICT (transaction_id) DO UPDATE SET status = excluded.status,
     expires_at = excluded.expires_at, json = excluded.json`;

async function reserve(flavorId: string): Promise<string> {
  const { tx, txAnswer } = sample as Sample;
  const txId = id(tx.transaction_id as string, ++count);
  await atomically(async (c) => {
    await lock(c, flavorId, null);
    await prepared(c, upsertTransactions, [
      JSON.stringify([{ ...tx, transaction_id: txId, flavor_id: flavorId, status: 'reserved' }]),
    ]);
  });
  return txAnswer.replace(tx.transaction_id as string, txId);
}

async function purchase(txId: string): Promise<void> {
  const { tx, contract, saleEvents, flavorById, flavorRows } = sample as Sample;
  const k = ++count;
  await atomically(async (c) => {
    const r = await prepared(c, 'SELECT flavor_id FROM transactions WHERE transaction_id = $1', [
      txId,
    ]);
    const flavorId = r.rows[0]?.flavor_id as string;
    await lock(c, flavorId, txId);
    const flavor = flavorById.get(flavorId) ?? flavorRows[0];
    await prepared(
      c,
      `INSERT INTO flavors (flavor_id, provider_id, status, json, summary, expires_at, auto_renew, ttl_seconds, due_at)
       SELECT flavor_id, provider_id, status, json, summary, expires_at, auto_renew, ttl_seconds, due_at
         FROM json_populate_recordset(null::flavors, $1)
       ON CONFLICT (flavor_id) DO UPDATE SET provider_id = excluded.provider_id,
         status = excluded.status, json = excluded.json, summary = excluded.summary,
         expires_at = excluded.expires_at, auto_renew = excluded.auto_renew,
         ttl_seconds = excluded.ttl_seconds, due_at = excluded.due_at`,
      [JSON.stringify([flavor])],
    );
    await prepared(c, upsertTransactions, [
      JSON.stringify([{ ...tx, transaction_id: txId, flavor_id: flavorId, status: 'purchased' }]),
    ]);
    await prepared(
      c,
      `INSERT INTO contracts (contract_id, transaction_id, buyer_id, seller_id, created_at, json)
       SELECT contract_id, transaction_id, buyer_id, seller_id, created_at, json
         FROM json_populate_recordset(null::contracts, $1)`,
      [
        JSON.stringify([
          { ...contract, contract_id: id(contract.contract_id as string, k), transaction_id: txId },
        ]),
      ],
    );
    const s = await prepared(
      c,
      'UPDATE seq_counter SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq',
      [saleEvents.length],
    );
    const last = Number((s.rows[0] as Row).last_seq);
    await prepared(
      c,
      `INSERT INTO events (seq, at, flavor_id, wire, prev, buyer_id)
       SELECT seq, at, flavor_id, wire, prev, buyer_id
         FROM json_populate_recordset(null::events, $1)`,
      [
        JSON.stringify(
          saleEvents.map((e, i) => ({
            ...e,
            seq: last - saleEvents.length + 1 + i,
            flavor_id: flavorId,
          })),
        ),
      ],
    );
    await prepared(c, `SELECT pg_notify('rear_events', $1)`, [String(last)]);
  });
}

async function atomically(fn: (c: pg.PoolClient) => Promise<void>): Promise<void> {
  if (!pool) throw new Error('pg-floor: no database yet');
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await fn(c);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts).toString()));
  });
}

const server = createServer((req, res) => {
  void (async () => {
    try {
      const body = await readBody(req);
      let answer: string;
      if (req.url === '/api/v2/reservations') {
        answer = await reserve((JSON.parse(body) as { FlavorID: string }).FlavorID);
      } else {
        const m = /^\/api\/v2\/transactions\/([^/]+)\/purchase$/.exec(req.url ?? '');
        if (!m) {
          res.writeHead(404).end();
          return;
        }
        await purchase(m[1] as string);
        answer = (sample as Sample).contract.json as string;
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(answer);
    } catch (err) {
      res.writeHead(500).end(JSON.stringify({ error: String(err) }));
    }
  })();
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

serve(async (msg) => {
  if (msg.type === 'use') {
    await use(msg.db as string, msg.from as string | undefined);
    return {};
  }
  if (msg.type === 'cpu') return { cpu: process.cpuUsage(), at: performance.now() };
  return {};
});
process.send?.({ type: 'ready', url });
process.on('SIGTERM', () => {
  void (pool?.end() ?? Promise.resolve()).finally(() => process.exit(0));
});
