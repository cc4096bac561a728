/**
 * Picks the store for a `--db` value: a postgres:// or postgresql:// URL is the shared
 * PostgreSQL store (several instances, one market); a path or ':memory:' is the embedded
 * SQLite journal. Any other URL scheme is refused rather than taken for a file name.
 */
import type { Clock } from '../clock.js';
import type { SharedStore } from './shared-store.js';
import { SqliteStore } from './store-sqlite.js';
import type { Store, StoreOptions } from './store.js';

export type AnyStore = Store | SharedStore;

export class StoreConfigError extends Error {}

/** What kind of store a `--db` value names; throws StoreConfigError for an unknown scheme. */
export function storeKind(db: string): 'sqlite' | 'postgres' {
  if (/^postgres(ql)?:\/\//i.test(db)) return 'postgres';
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(db);
  if (scheme) {
    throw new StoreConfigError(
      `--db ${scheme[1]}:// is not a store this hub knows: give a SQLite file path, ':memory:', or a postgres:// URL`,
    );
  }
  return 'sqlite';
}

export async function openStore(
  db: string,
  clock: Clock,
  options: StoreOptions = {},
): Promise<AnyStore> {
  if (storeKind(db) === 'postgres') {
    // Loaded only for a shared store: pg and its modules are a part of an embedded hub's start
    // it never uses.
    const { PostgresStore } = await import('./store-postgres.js');
    return PostgresStore.open(db, { clock, ...options });
  }
  return new SqliteStore(db, options);
}
