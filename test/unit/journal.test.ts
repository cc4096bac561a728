/**
 * The journal's order promise when a change is still being made (a sale's contract signed on
 * the thread pool): seqs are taken at the call, and the store receives changes — and the bus
 * publishes events — in that order, whichever change becomes ready first.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock.js';
import { MemoryEventBus } from '../../src/domain/event-bus-memory.js';
import type { EventDraft } from '../../src/domain/events.js';
import { Journal } from '../../src/domain/journal.js';
import type { Change, Store } from '../../src/store/store.js';

/** A store that records what it was handed and commits when told to. */
function recordingStore() {
  const handed: Change[] = [];
  const pending: Array<() => void> = [];
  const store = {
    commit(change: Change) {
      handed.push(change);
      return new Promise<void>((resolve) => pending.push(resolve));
    },
  } as unknown as Store;
  const commitAll = () => {
    for (const r of pending.splice(0)) r();
  };
  return { store, handed, commitAll };
}

function journalOver(store: Store, onFatal: (err: unknown) => void = () => {}) {
  const clock = new FakeClock();
  const bus = new MemoryEventBus(
    clock,
    { maxEvents: 100, maxAgeMs: 60_000 },
    { lastSeq: 0, firstSeq: 1, epoch: 'e' },
    store,
  );
  const seen: number[] = [];
  bus.listen((e) => seen.push(e.seq));
  return { journal: new Journal(store, bus, clock, onFatal), seen };
}

const confirmed = (n: number): EventDraft => ({
  kind: 'confirmed',
  flavorId: `fl-${n}`,
  contractId: `ct-${n}`,
  transactionId: `tx-${n}`,
  buyerId: 'b',
});

const flush = () => new Promise((r) => setImmediate(r));

describe('Journal', () => {
  it('hands a ready change to the store in the same turn when nothing is ahead of it', async () => {
    const { store, handed, commitAll } = recordingStore();
    const { journal, seen } = journalOver(store);
    const written = journal.write({ flavors: [] }, [confirmed(1)]);
    expect(handed.map((c) => c.events?.map((e) => e.seq))).toEqual([[1]]);
    commitAll();
    await written;
    expect(seen).toEqual([1]);
  });

  it('keeps seq order while an earlier change is still being made', async () => {
    const { store, handed, commitAll } = recordingStore();
    const { journal, seen } = journalOver(store);
    let finish!: (c: Change) => void;
    const slow = new Promise<Change>((r) => (finish = r));
    const first = journal.write(slow, [confirmed(1)]);
    const second = journal.write({}, [confirmed(2)]);
    const third = journal.write(Promise.resolve({}), [confirmed(3)]);
    await flush();
    // The later, ready changes wait for the first: nothing reached the store yet.
    expect(handed).toEqual([]);
    finish({ contracts: [] });
    await flush();
    expect(handed.map((c) => c.events?.map((e) => e.seq))).toEqual([[1], [2], [3]]);
    // All three were handed over before any was durable: one group commit can take them all.
    commitAll();
    await Promise.all([first, second, third]);
    expect(seen).toEqual([1, 2, 3]);
    // Once everything is handed over, a ready change goes straight through again.
    void journal.write({}, [confirmed(4)]);
    expect(handed).toHaveLength(4);
  });

  it('publishes in seq order when a ready write follows a pending one into the same commit', async () => {
    const { store, handed, commitAll } = recordingStore();
    const { journal, seen } = journalOver(store);
    const first = journal.write(Promise.resolve({}), [confirmed(1)]);
    await flush();
    // The first is with the store: the second goes straight there too.
    const second = journal.write({}, [confirmed(2)]);
    expect(handed).toHaveLength(2);
    // The store answers both at once (one group commit), the first first.
    commitAll();
    await Promise.all([first, second]);
    expect(seen).toEqual([1, 2]);
  });

  it('reports a change that could not be made as fatal, and later writes still go through', async () => {
    const { store, handed, commitAll } = recordingStore();
    const fatal: unknown[] = [];
    const { journal, seen } = journalOver(store, (err) => fatal.push(err));
    const failed = journal.write(Promise.reject(new Error('no signature')), [confirmed(1)]);
    const next = journal.write({}, [confirmed(2)]);
    await expect(failed).rejects.toThrow('no signature');
    expect(fatal).toHaveLength(1);
    await flush();
    expect(handed.map((c) => c.events?.map((e) => e.seq))).toEqual([[2]]);
    commitAll();
    await next;
    expect(seen).toEqual([2]);
  });

  it('commits a new row at once, ahead of a sale still being made, and its events keep their order', async () => {
    const { store, handed, commitAll } = recordingStore();
    const { journal, seen } = journalOver(store);
    let finish!: (c: Change) => void;
    const sale = journal.write(new Promise<Change>((r) => (finish = r)), [confirmed(1)]);
    const hold = { transactionId: 'tx-new' } as unknown as NonNullable<
      Change['transactions']
    >[number];
    const reserved = journal.writeNew({ transactions: [hold] });
    const after = journal.write({}, [confirmed(2)]);
    // The new row is with the store in this turn; the write after the sale still waits for it.
    expect(handed).toEqual([{ transactions: [hold] }]);
    commitAll();
    await reserved;
    finish({});
    await flush();
    expect(handed.slice(1).map((c) => c.events?.map((e) => e.seq))).toEqual([[1], [2]]);
    commitAll();
    await Promise.all([sale, after]);
    expect(seen).toEqual([1, 2]);
  });
});
