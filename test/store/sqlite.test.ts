import { rmSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
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

describe('SQLite writer thread', () => {
  it('gone without being asked (a crash): its pending commit fails, and close() still ends', async () => {
    const { dir, path } = tempDbPath();
    dirs.push(dir);
    const store = new SqliteStore(path);
    const worker = (store as unknown as { worker: Worker }).worker;
    const flavor = {
      flavorId: 'f',
      providerId: 'p',
      status: 'live' as const,
      json: '{}',
      expiresAt: 1,
      autoRenew: false,
      ttlSeconds: 60,
    };
    // Ended while it still starts (loading its modules takes far longer than these calls), so
    // nothing sent to it is answered.
    const pending = store.commit({ flavors: [flavor] });
    await worker.terminate();
    await expect(pending).rejects.toThrow(/writer thread exited/);
    await expect(store.commit({ flavors: [flavor] })).rejects.toThrow();
    await store.close();
  });

  it('gone while close() waits for its last commit: the commit fails and close() ends', async () => {
    const { dir, path } = tempDbPath();
    dirs.push(dir);
    const store = new SqliteStore(path);
    const worker = (store as unknown as { worker: Worker }).worker;
    // close() sends the commit and waits for it; the thread, still starting, is ended first.
    const pending = store.commit({ pruneEventsThrough: 0 });
    const closing = store.close();
    await worker.terminate();
    await expect(pending).rejects.toThrow(/writer thread exited/);
    await closing;
  });
});
