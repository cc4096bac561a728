/**
 * The shared market's feed (shared-feed.ts) over a store that stands in for PostgreSQL: every
 * seq once and in order, the catalog copy kept as the events say, a refresh's facts before it
 * taken from the copy (the read leaves the stored flavor before it out), and wake-ups gathered
 * into reads at most GATHER_MS apart while no change of the instance's own waits.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock.js';
import { Catalog } from '../../src/domain/catalog.js';
import { MemoryEventBus } from '../../src/domain/event-bus-memory.js';
import { stamp, type DomainEvent, type EventDraft } from '../../src/domain/events.js';
import { makeEntry, type FlavorEntry } from '../../src/domain/flavor-entry.js';
import { factsOf } from '../../src/domain/flavor-facts.js';
import { GATHER_MS, SharedFeed } from '../../src/domain/shared-feed.js';
import type { SharedStore } from '../../src/store/shared-store.js';
import type { StoredEvent } from '../../src/store/store.js';
import type { Flavor } from '../../src/types/wire.js';
import { k8sliceFlavor } from '../helpers/flavors.js';

const flavor = (id: string, cpu: number, amount?: string): Flavor =>
  k8sliceFlavor(id, cpu, { amount });

const entry = (f: Flavor): FlavorEntry => makeEntry(f, true, 60);
const row = (seq: number, draft: EventDraft): StoredEvent => stamp(draft, seq, 1000 + seq).record;
const confirmed = (seq: number): StoredEvent =>
  row(seq, {
    kind: 'confirmed',
    flavorId: 'f-sold',
    contractId: `c${seq}`,
    transactionId: `t${seq}`,
    buyerId: 'b',
  });

/** The store's event table as the feed reads it: without `prev`, as PostgreSQL's read is. */
class FakeEvents {
  rows: StoredEvent[] = [];
  reads: number[] = [];
  fail = 0;

  async eventsAfter(after: number, limit: number): Promise<StoredEvent[]> {
    this.reads.push(after);
    if (this.fail > 0) {
      this.fail--;
      throw new Error('unreachable');
    }
    return this.rows
      .filter((r) => r.seq > after)
      .slice(0, limit)
      .map(({ prev: _prev, ...r }) => r);
  }
}

function setup(from = 0) {
  const clock = new FakeClock();
  const store = new FakeEvents();
  const catalog = new Catalog(clock, undefined, undefined, {
    defaultTtlSeconds: 300,
    listCacheBytes: 0,
  });
  // Nothing stored before `from` is resumed in these tests: the bus's stored part is empty.
  const bus = new MemoryEventBus(
    clock,
    { maxEvents: 10_000, maxAgeMs: 1e12 },
    { lastSeq: from, firstSeq: from + 1, epoch: 'e' },
    { eventsAfter: async () => [], eventTimes: async () => [] },
  );
  const heard: DomainEvent[] = [];
  bus.listen((e) => heard.push(e));
  const errors: unknown[] = [];
  const feed = new SharedFeed(store as unknown as SharedStore, catalog, bus, clock, from, (err) =>
    errors.push(err),
  );
  return { clock, store, catalog, feed, heard, errors, seqs: () => heard.map((e) => e.seq) };
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

describe('the shared feed', () => {
  it('keeps the copy as the events say; a refresh has the facts before it from the copy', async () => {
    const { store, catalog, feed, heard, seqs } = setup();
    const v1 = entry(flavor('fa', 8));
    const v2 = entry(flavor('fa', 6, '2.00'));
    const other = entry(flavor('fb', 4));
    store.rows = [
      row(1, { kind: 'added', flavor: v1 }),
      row(2, { kind: 'added', flavor: other }),
      row(3, { kind: 'refreshed', flavor: v2, prev: v1, changes: [] }),
      row(4, {
        kind: 'withdrawn',
        flavor: other,
        reason: { Code: 'sold', Message: 'sold out' },
      }),
      confirmed(5),
    ];
    await feed.reached(5);
    expect(seqs()).toEqual([1, 2, 3, 4, 5]);
    const refresh = heard[2] as DomainEvent & { kind: 'refreshed' };
    expect(refresh.kind).toBe('refreshed');
    expect(refresh.facts).toEqual(factsOf(v2.flavor));
    expect(refresh.prevFacts).toEqual(factsOf(v1.flavor));
    expect(refresh.wire).toBe(store.rows[2]?.wire);
    expect(catalog.get('fa')?.json).toBe(v2.json);
    expect(catalog.get('fb')).toBeUndefined();
    expect((heard[3] as DomainEvent & { kind: 'withdrawn' }).facts).toEqual(factsOf(other.flavor));
    expect(heard[4]).toMatchObject({ kind: 'confirmed', contractId: 'c5', buyerId: 'b' });
    expect(feed.counts).toEqual({ events: 5, gaps: 0 });
  });

  it('reads page by page, and counts a pruned gap', async () => {
    const { store, feed, seqs } = setup(2);
    store.rows = Array.from({ length: 1500 }, (_, i) => confirmed(i + 5));
    await feed.reached(1504);
    expect(seqs()).toEqual(Array.from({ length: 1500 }, (_, i) => i + 5));
    expect(store.reads).toEqual([2, 1004]);
    expect(feed.counts).toEqual({ events: 1500, gaps: 1 });
  });

  it('reads again from the same cursor after a failed read', async () => {
    const { store, feed, errors, seqs } = setup();
    store.rows = [confirmed(1), confirmed(2)];
    store.fail = 1;
    let answered = false;
    const done = feed.reached(2).then(() => (answered = true));
    await new Promise<void>((r) => setImmediate(r));
    expect(errors).toHaveLength(1);
    expect(answered).toBe(false);
    feed.wake(undefined);
    await done;
    expect(seqs()).toEqual([1, 2]);
  });

  it('reads at once after a quiet spell, then at most once per GATHER_MS while it only follows', async () => {
    const { clock, store, feed, seqs } = setup();
    store.rows = [confirmed(1)];
    feed.wake(1);
    await nextTurn();
    expect(store.reads).toEqual([0]);
    // Heard within the window of that read: gathered into one read at the window's end.
    store.rows.push(confirmed(2), confirmed(3));
    feed.wake(2);
    feed.wake(3);
    clock.advance(GATHER_MS - 1);
    await nextTurn();
    expect(store.reads).toEqual([0]);
    clock.advance(1);
    await nextTurn();
    expect(store.reads).toEqual([0, 1]);
    // After a quiet spell, at once again.
    clock.advance(GATHER_MS);
    store.rows.push(confirmed(4));
    feed.wake(4);
    await nextTurn();
    expect(store.reads).toEqual([0, 1, 3]);
    expect(seqs()).toEqual([1, 2, 3, 4]);
  });

  it('reads at once for a change of its own, ending a gathering', async () => {
    const { clock, store, feed, seqs } = setup();
    store.rows = [confirmed(1)];
    feed.wake(1);
    await nextTurn();
    store.rows.push(confirmed(2));
    feed.wake(2);
    store.rows.push(confirmed(3));
    await feed.reached(3);
    expect(store.reads).toEqual([0, 1]);
    expect(seqs()).toEqual([1, 2, 3]);
    // The gathering it ended does not read again when its window would have closed.
    clock.advance(GATHER_MS);
    await nextTurn();
    expect(store.reads).toEqual([0, 1]);
  });

  it('gathers what it hears during a read when no change of its own waits', async () => {
    const { clock, store, feed, seqs } = setup();
    store.rows = [confirmed(1)];
    const first = feed.reached(1);
    // Heard while that read is under way: after it, a gathering, not a second read at once.
    store.rows.push(confirmed(2));
    feed.wake(2);
    await first;
    await nextTurn();
    expect(store.reads).toEqual([0]);
    clock.advance(GATHER_MS);
    await nextTurn();
    expect(store.reads).toEqual([0, 1]);
    expect(seqs()).toEqual([1, 2]);
  });

  it('reads nothing more once closed, a gathering included', async () => {
    const { clock, store, feed } = setup();
    store.rows = [confirmed(1)];
    feed.wake(1);
    await nextTurn();
    store.rows.push(confirmed(2));
    feed.wake(2);
    feed.close();
    clock.advance(GATHER_MS * 2);
    await nextTurn();
    expect(store.reads).toEqual([0]);
  });
});
