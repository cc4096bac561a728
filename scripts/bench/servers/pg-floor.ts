/**
 * P9's floor: the hub's two sale routes answered by a bare node:http server that runs, per
 * request, the same SQL statements the hub's PostgreSQL store runs for a reserve and for a
 * purchase — the store's own (store-postgres.ts `lockSteps`, `commitSteps`), pipelined as the
 * store sends them (pg-prepared.ts), on rows of the sizes of one of the hub's own sales,
 * through a `pg` pool of the hub's size — and nothing else: no authentication, no domain, no
 * catalog copy, no event feed, no signing.
 *
 *   each request: BEGIN, SELECT … FOR UPDATE, the json_agg read of holds, line and
 *                 transaction (one round trip); then its writes and COMMIT (another):
 *   reserve:      the hold's row
 *   purchase:     one statement of the flavor (with its summary), transaction and contract
 *                 rows, the seq counter, the two events and pg_notify
 *
 * Each round runs on a fresh database (`use`), as the hubs' rounds do: the schema is the
 * hub's own migrations, the flavors rows those of the hub whose sale was sampled (`from`).
 *
 * With `signed` (a reference beside P9, not its floor): each purchase also signs its own
 * contract before it locks, as P2's floor does (lib/floor-signing.ts), and stores and answers
 * that contract instead of the sample's.
 */
import { createServer, type IncomingMessage } from 'node:http';
import pg from 'pg';
import type * as PreparedModule from '../../../src/store/pg-prepared.js';
import type * as MigrationsModule from '../../../src/store/postgres-migrations.js';
import type { SharedFlavor, SharedTransaction } from '../../../src/store/shared-store.js';
import type * as RowsModule from '../../../src/store/rows.js';
import type * as StoreModule from '../../../src/store/store-postgres.js';
import type { StoredContract, UnnumberedEvent } from '../../../src/store/store.js';
import { buyerOf } from '../lib/buyers.js';
import { signedContract, unsignedContract } from '../lib/floor-signing.js';
import { serve } from '../lib/proc.js';
import { profileMessages } from '../lib/window-profiler.js';

const { PG_MIGRATIONS } = (await import(
  new URL('../../../dist/src/store/postgres-migrations.js', import.meta.url).href
)) as typeof MigrationsModule;
// The store's own statements, sent as it sends them: named prepared statements (parsed and
// planned once per connection), pipelined.
const { pipelined } = (await import(
  new URL('../../../dist/src/store/pg-prepared.js', import.meta.url).href
)) as typeof PreparedModule;
const { lockSteps, commitSteps, toFlavor, toTransaction } = (await import(
  new URL('../../../dist/src/store/store-postgres.js', import.meta.url).href
)) as typeof StoreModule;
const { toContract } = (await import(
  new URL('../../../dist/src/store/rows.js', import.meta.url).href
)) as typeof RowsModule;

const opts = JSON.parse(process.argv[2] ?? '{}') as {
  /** The hub's pool size (store-postgres.ts default). */
  poolSize?: number;
};

type Row = Record<string, unknown>;

/** What one of the hub's sales wrote, and the flavors it sold from. */
interface Sample {
  flavorRows: Row[];
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
/** Whether each purchase signs a contract of its own (`use`'s `signed`). */
let signing = false;

/** Switches to a fresh database (`from`: first copy the sample from a hub's database). */
async function use(url: string, from: string | undefined, signed: boolean): Promise<void> {
  signing = signed;
  if (from) {
    sample = await copyFrom(from);
    shaped = shape(sample);
  }
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

/** One sale's rows as the hub's store receives them, copied from the sample's rows. */
interface Shaped {
  flavors: Map<string, SharedFlavor>;
  tx: SharedTransaction;
  contract: StoredContract;
  events: UnnumberedEvent[];
}
let shaped: Shaped | undefined;

function shape({ flavorRows, tx, contract, saleEvents }: Sample): Shaped {
  return {
    flavors: new Map(flavorRows.map((r) => [r.flavor_id as string, toFlavor(r)])),
    tx: { ...toTransaction(tx), status: 'reserved' },
    contract: toContract(contract),
    // Each wire around its seq, as the hub's store receives it (UnnumberedEvent).
    events: saleEvents.map((e) => {
      const wire = e.wire as string;
      const m = /"seq":\d+/.exec(wire) as RegExpExecArray;
      return {
        at: Number(e.at),
        flavorId: e.flavor_id as string,
        before: wire.slice(0, m.index + '"seq":'.length),
        after: wire.slice(m.index + m[0].length),
        ...(e.buyer_id ? { buyerId: e.buyer_id as string } : {}),
      };
    }),
  };
}

async function reserve(flavorId: string, buyerId: string): Promise<string> {
  const { tx, txAnswer } = sample as Sample;
  const base = (shaped as Shaped).tx;
  const txId = id(base.transactionId, ++count);
  await atomically(async (c) => {
    const locked = await pipelined(c, lockSteps({ flavorId }));
    // A flavor this database does not hold: the hub would answer 404; the floor answers 500,
    // and the bench refuses a floor that fails.
    if (!locked[1]?.rows[0]) throw new Error(`pg-floor: no flavor ${flavorId}`);
    await pipelined(
      c,
      commitSteps({ transactions: [{ ...base, transactionId: txId, flavorId, buyerId }] }),
    );
  });
  return txAnswer.replace(tx.transaction_id as string, txId);
}

/** The purchase's rows, committed; answers with its contract's JSON. */
async function purchase(txId: string, buyerId: string): Promise<string> {
  const { flavors, tx, contract, events } = shaped as Shaped;
  const k = ++count;
  const contractId = id(contract.contractId, k);
  const json = signing
    ? await signedContract(unsignedContract(contract.json).replace(contract.contractId, contractId))
    : contract.json;
  await atomically(async (c) => {
    const locked = await pipelined(c, lockSteps({ transactionId: txId }));
    const flavorId = locked[1]?.rows[0]?.flavor_id as string | undefined;
    const flavor = flavorId === undefined ? undefined : flavors.get(flavorId);
    if (!flavorId || !flavor) throw new Error(`pg-floor: no flavor for transaction ${txId}`);
    await pipelined(
      c,
      commitSteps({
        flavors: [flavor],
        transactions: [{ ...tx, transactionId: txId, flavorId, buyerId, status: 'purchased' }],
        contracts: [{ ...contract, contractId, transactionId: txId, buyerId, json }],
        events: events.map((e) => ({ ...e, flavorId, ...(e.buyerId ? { buyerId } : {}) })),
      }),
    );
  });
  return json;
}

/** Runs fn's pipelines (the first BEGINs, the last COMMITs); ROLLBACK if one fails. */
async function atomically(fn: (c: pg.PoolClient) => Promise<void>): Promise<void> {
  if (!pool) throw new Error('pg-floor: no database yet');
  const c = await pool.connect();
  try {
    await fn(c);
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
      // The rows name the request's buyer, as the hub's do (lib/buyers.ts).
      const buyerId = buyerOf(req.headers.authorization);
      let answer: string;
      if (req.url === '/api/v2/reservations') {
        answer = await reserve((JSON.parse(body) as { FlavorID: string }).FlavorID, buyerId);
      } else {
        const m = /^\/api\/v2\/transactions\/([^/]+)\/purchase$/.exec(req.url ?? '');
        if (!m) {
          res.writeHead(404).end();
          return;
        }
        answer = await purchase(m[1] as string, buyerId);
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

// Profiles only the window the orchestrator asks for, as the hub's server does (lib/window-profiler.ts).
const profiling = profileMessages();
serve(async (msg) => {
  const profiled = profiling(msg);
  if (profiled) return profiled;
  if (msg.type === 'use') {
    await use(msg.db as string, msg.from as string | undefined, msg.signed === true);
    return {};
  }
  if (msg.type === 'cpu') return { cpu: process.cpuUsage(), at: performance.now() };
  return {};
});
process.send?.({ type: 'ready', url });
process.on('SIGTERM', () => {
  void (pool?.end() ?? Promise.resolve()).finally(() => process.exit(0));
});
