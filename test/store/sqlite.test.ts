import { afterAll } from 'vitest';
import { rmSync } from 'node:fs';
import { SqliteStore } from '../../src/store/store-sqlite.js';
import type { Change } from '../../src/store/store.js';
import { tempDbPath } from '../helpers/hub.js';
import { storeSuite } from './store-suite.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

storeSuite('SQLite file', {
  async create() {
    const { dir, path } = tempDbPath();
    dirs.push(dir);
    const open = () => {
      const store = new SqliteStore(path);
      return { store, write: (change: Change) => store.commit(change) };
    };
    return { ...open(), reopen: async () => open() };
  },
  ordered: true,
});
