/** Picks the store backend for a `--db` value. Only SQLite exists today. */
import type { Store, StoreOptions } from './store.js';
import { SqliteStore } from './store-sqlite.js';

export function openStore(db: string, options: StoreOptions = {}): Store {
  return new SqliteStore(db, options);
}
