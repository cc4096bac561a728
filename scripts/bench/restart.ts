/**
 * npm run bench:restart [-- --flavors=100000 --contracts=1000000 --rounds=3 --dir=PATH]
 *
 * How long the hub takes from SIGKILL to serving again on a big SQLite store: it fills a
 * store with the flavors, sold contracts and a full event history (the rows the hub itself
 * writes, built with its own domain functions), then starts `node dist/src/cli.js` on it
 * (not `npm start`, which builds first), waits for its `listening` line and a first LIST,
 * SIGKILLs it, and starts it again. Reports each round and the median, next to a baseline
 * measured in the same run: the same process on an empty store.
 *
 * With --ab=DIST (another build's dist directory, e.g. /work/wt-base/dist) the rounds
 * alternate between this build and that one (the order swapped every round), so both meet the
 * same neighbours on a shared machine; each is reported with its median wall time and its
 * event loop's CPU time up to the answer (main thread, /proc), which moves less with load.
 *
 * With --dir the stores are kept in that directory and a store filled by an earlier run with
 * the same sizes is reused (filling takes minutes; a restart leaves the file as it was, so
 * rounds on a reused store measure the same thing). Without it they go to a temporary
 * directory removed at the end.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { systemClock } from '../../src/clock.js';
import { makeEntry } from '../../src/domain/flavor-entry.js';
import { Market } from '../../src/domain/market.js';
import { stamp } from '../../src/domain/events.js';
import { makeContract, newTransaction, storedTx } from '../../src/domain/holds.js';
import { newTransactionId } from '../../src/domain/ids.js';
import { newFlavor, storedFlavor } from '../../src/domain/offers.js';
import type { Principal } from '../../src/domain/principal.js';
import { SqliteStore } from '../../src/store/store-sqlite.js';
import type { StoredContract, StoredTransaction } from '../../src/store/store.js';
import { listFlavor, prng } from './lib/catalog.js';
import { numberArg } from './lib/args.js';
import { buildDist, threadCpu } from './lib/proc.js';

const FLAVORS = numberArg('flavors', 100_000);
const CONTRACTS = numberArg('contracts', 1_000_000);
const EVENTS = Math.min(numberArg('events', 100_000), FLAVORS);
const ROUNDS = numberArg('rounds', 3);
const DIR = process.argv.find((x) => x.startsWith('--dir='))?.slice('--dir='.length);
const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));
const AB = process.argv.find((x) => x.startsWith('--ab='))?.slice('--ab='.length);
/** The builds measured: this one, and the other one of an A/B run. */
const BUILDS = [CLI, ...(AB ? [join(AB, 'src/cli.js')] : [])];

const provider: Principal = {
  role: 'provider',
  identity: { Domain: 'bench.test', NodeID: 'prov-bench', IP: '10.0.0.1' },
};
const buyer = { Domain: 'c.test', NodeID: 'cons-bench', IP: '10.1.0.1' };

async function fill(path: string): Promise<void> {
  const store = new SqliteStore(path);
  const r = prng(7);
  const now = Date.now();
  const BATCH = 5000;
  const entries = [];
  for (let i = 0; i < FLAVORS; i += BATCH) {
    const part = [];
    for (let j = i; j < Math.min(FLAVORS, i + BATCH); j++) {
      const body = listFlavor(r, j);
      const e = makeEntry(newFlavor(provider, body, now, 86_400), true, 86_400);
      part.push(e);
      if (entries.length < EVENTS) entries.push(e);
    }
    await store.commit({ flavors: part.map((e) => storedFlavor(e)) });
  }
  // The history the hub keeps (its bound is 100,000 events): one FLAVOR_ADDED per flavor.
  for (let i = 0; i < entries.length; i += BATCH) {
    const events = entries
      .slice(i, i + BATCH)
      .map((e, k) => stamp({ kind: 'added', flavor: e }, i + k + 1, now).record);
    await store.commit({ events });
  }
  const sold = entries[0] ?? makeEntry(newFlavor(provider, listFlavor(r, 1), now, 60), true, 60);
  for (let i = 0; i < CONTRACTS; i += BATCH) {
    const transactions: StoredTransaction[] = [];
    const contracts: StoredContract[] = [];
    for (let j = i; j < Math.min(CONTRACTS, i + BATCH); j++) {
      const tx = newTransaction(
        newTransactionId(now + j),
        buyer,
        sold.flavor.flavorId,
        now,
        undefined,
      );
      transactions.push({ ...storedTx(tx, buyer.NodeID, now), status: 'purchased' });
      const c = makeContract(tx, sold.flavor, sold.flavor.owner, now + j, 30 * 86_400_000);
      contracts.push({
        contractId: c.ContractID,
        transactionId: c.TransactionID,
        buyerId: buyer.NodeID,
        sellerId: provider.identity.NodeID,
        createdAt: now + j,
        json: JSON.stringify(c),
      });
    }
    await store.commit({ transactions, contracts });
  }
  await store.close();
}

/**
 * A store filled by a build before flavor summaries has none: the hub's first start on it
 * writes them after listening. Done here once, by the hub's own market run until ready, so that
 * every round measures the start that every later one is.
 */
async function summarize(path: string): Promise<void> {
  const store = new SqliteStore(path);
  const db = new Database(path, { readonly: true });
  const missing = db
    .prepare(`SELECT count(*) FROM flavors WHERE status = 'live' AND summary IS NULL`)
    .pluck()
    .get() as number;
  db.close();
  if (missing > 0) {
    const market = await Market.open({
      clock: systemClock,
      store,
      ttpSeconds: 60,
      flavorTtlSeconds: 86_400,
      contractDays: 30,
      history: { maxEvents: EVENTS, maxAgeMs: 900_000 },
      onFatal: (err) => {
        throw err;
      },
    });
    await market.ready;
    market.close();
    console.log(`wrote the summaries of ${missing} flavors stored without one`);
  }
  await store.close();
}

/**
 * Starts the hub and resolves with ms from spawn to its first LIST answered, its event loop's
 * CPU seconds by then, and the child.
 */
function start(db: string, tokens: string, cli = CLI) {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [cli, 'serve', '--db', db, '--tokens', tokens, '--port', '0', '--no-demo'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } },
  );
  return new Promise<{ ms: number; cpu: number; kill: () => Promise<void> }>((resolve, reject) => {
    let out = '';
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:[^"]+)","msg":"listening"/.exec(out);
      if (!m) return;
      child.stdout.removeAllListeners('data');
      fetch(`${m[1]}/api/v2/flavors?filter[providerId][match]=nobody`, {
        headers: { authorization: 'Bearer tok-bench' },
      })
        .then(async (res) => {
          if (res.status !== 200) throw new Error(`LIST answered ${res.status}`);
          await res.text();
          const ms = performance.now() - t0;
          resolve({
            ms,
            cpu: threadCpu(child.pid as number).get('main') ?? NaN,
            kill: () =>
              new Promise<void>((done) => {
                child.once('exit', () => done());
                child.kill('SIGKILL');
              }),
          });
        })
        .catch(reject);
    });
    child.once('exit', (code) => reject(new Error(`hub exited ${code}: ${out}`)));
  });
}

/** Wall ms and event-loop CPU seconds of each round, per build (alternated in an A/B run). */
async function rounds(db: string, tokens: string): Promise<Array<{ ms: number[]; cpu: number[] }>> {
  const out = BUILDS.map(() => ({ ms: [] as number[], cpu: [] as number[] }));
  for (let i = 0; i < ROUNDS; i++) {
    const order = BUILDS.map((_, b) => b);
    if (i % 2 === 1) order.reverse();
    for (const b of order) {
      const hub = await start(db, tokens, BUILDS[b]);
      out[b]?.ms.push(hub.ms);
      out[b]?.cpu.push(hub.cpu);
      await hub.kill();
    }
  }
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

async function main(): Promise<void> {
  buildDist();
  const dir = DIR ?? mkdtempSync(join(tmpdir(), 'rear-restart-'));
  mkdirSync(dir, { recursive: true });
  try {
    const tokens = join(dir, 'tokens.json');
    writeFileSync(
      tokens,
      JSON.stringify([{ token: 'tok-bench', role: 'consumer', identity: buyer }]),
    );
    const big = join(dir, `big-${FLAVORS}-${EVENTS}-${CONTRACTS}.db`);
    // A fill is complete once its marker is written; a half-filled file is started over.
    const filled = `${big}.filled`;
    if (DIR && existsSync(filled)) {
      console.log(`reusing ${big}`);
    } else {
      for (const f of [big, `${big}-wal`, `${big}-shm`]) rmSync(f, { force: true });
      const t0 = performance.now();
      await fill(big);
      writeFileSync(filled, '');
      const took = ((performance.now() - t0) / 1000).toFixed(0);
      console.log(
        `filled ${FLAVORS} flavors, ${EVENTS} events, ${CONTRACTS} contracts in ${took} s`,
      );
    }
    await summarize(big);
    // The history is bounded by age too (15 minutes): a store filled earlier would have its
    // whole history dropped at load and so measure less. Every run starts with it as fresh
    // as a store filled just now.
    const db = new Database(big);
    db.prepare('UPDATE events SET at = ?').run(Date.now());
    db.close();
    const mb = (statSync(big).size / 2 ** 20).toFixed(0);
    console.log(`big store: ${mb} MiB`);
    const empty = join(dir, 'empty.db');
    const emptyRuns = await rounds(empty, tokens);
    const bigRuns = await rounds(big, tokens);
    for (const [b, cli] of BUILDS.entries()) {
      const base = emptyRuns[b] as { ms: number[]; cpu: number[] };
      const full = bigRuns[b] as { ms: number[]; cpu: number[] };
      const cpu = (xs: number[]) => `event loop CPU median ${(median(xs) * 1000).toFixed(0)} ms`;
      if (AB) console.log(`build ${cli}:`);
      console.log(
        `empty store: ${base.ms.map((x) => x.toFixed(0)).join(', ')} ms (median ${median(base.ms).toFixed(0)}; ${cpu(base.cpu)})`,
      );
      console.log(
        `big store:   ${full.ms.map((x) => x.toFixed(0)).join(', ')} ms (median ${median(full.ms).toFixed(0)}; ${cpu(full.cpu)})`,
      );
      console.log(
        `restart, SIGKILL → first LIST answered: ${median(full.ms).toFixed(0)} ms; ${(median(full.ms) / median(base.ms)).toFixed(2)}× the empty store's`,
      );
    }
  } finally {
    if (!DIR) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
