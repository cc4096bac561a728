/**
 * A throwaway PostgreSQL 15 cluster for tests (initdb into a temp dir, a free port of
 * 127.0.0.1, trust authentication): `withPostgres()` starts one for the file that calls it
 * and stops it after the file's last test; `startPostgres()` starts one by hand. Needs the
 * server binaries (Debian's `postgresql` package; `.ci/run` installs it). The cluster logic is
 * shared with `npm run pg:local` in scripts/lib/pg-cluster.ts.
 *
 *   const pg = withPostgres();                 // at module level
 *   it('…', async () => {
 *     const url = await pg().createDatabase(); // a fresh database per test
 *     await pg().restart();                    // or kill() then start(), for fault tests
 *   });
 */
import { afterAll, beforeAll } from 'vitest';
import {
  startPostgres,
  type PgCluster,
  type PgClusterOptions,
} from '../../scripts/lib/pg-cluster.js';

export {
  findPgBinDir,
  startPostgres,
  type PgCluster,
  type PgClusterOptions,
  type ShutdownMode,
} from '../../scripts/lib/pg-cluster.js';

/** initdb, start and a database take about a second here; much more on a loaded machine. */
const START_TIMEOUT_MS = 60_000;

/**
 * Starts a cluster in `beforeAll` and stops it (removing its directory) in `afterAll`, for the
 * file or `describe` block that calls it. Returns an accessor for use inside tests and hooks.
 */
export function withPostgres(options: PgClusterOptions = {}): () => PgCluster {
  let cluster: PgCluster | undefined;
  beforeAll(async () => {
    cluster = await startPostgres(options);
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    await cluster?.stop();
  }, START_TIMEOUT_MS);
  return () => {
    if (!cluster)
      throw new Error('withPostgres(): the cluster starts in beforeAll; use it in a test');
    return cluster;
  };
}
