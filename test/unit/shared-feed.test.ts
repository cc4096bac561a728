/**
 * The shared market's feed (shared-feed.ts) over a store that stands in for PostgreSQL: the
 * events this instance commits are applied from memory, the others' read, every seq once and
 * in order, whichever way it came and in whatever order the commits are acknowledged.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock.js';
import { Catalog } from '../../src/domain/catalog.js';
import { MemoryEventBus } from '../../src/domain/event-bus-memory.js';
import { stamp, type DomainEvent, type EventDraft } from '../../src/domain/events.js';
import { makeEntry, type FlavorEntry } from '../../src/domain/flavor-entry.js';
import { factsOf } from '../../src/domain/flavor-facts.js';
import { SharedFeed, type OwnEvent } from '../../src/domain/shared-feed.js';
import type { SharedStore } from '../../src/store/shared-store.js';
import type { StoredEvent } from '../../src/store/store.js';
import type { Flavor } from '../../src/types/wire.js';

function flavor(id: string, cpu: number, amount = '1.00'): Flavor {
  return {
    flavorId: id,
    providerId: 'p',
    timestamp: '2026-01-01T00:00:00.000Z',
    expirationTime: '2027-01-01T00:00:00.000Z',
    type: {
      name: 'k8slice',
      data: {
        characteristics: { architecture: 'amd64', cpu: String(cpu), memory: '8Gi', pods: '110' },
      },
    },
    price: { amount, currency: 'EUR', period: 'hour' },
    owner: { domain: 'd', nodeId: 'p', ip: '1' },
    availability: true,
  };
}

const entry = (f: Flavor): FlavorEntry => makeEntry(f, true, 60);

/** The event as both ways see it: what its instance hands over, and the store's row. */
function made(seq: number, draft: EventDraft): { own: OwnEvent; row: StoredEvent } {
  const { event, record } = stamp(draft, seq, 1000 + seq);
  const offer =
    draft.kind === 'added' || draft.kind === 'refreshed'
      ? draft.flavor
      : draft.kind === 'withdrawn'
        ? null
        : undefined;
  return { own: { event, offer }, row: record };
}

const confirmed = (seq: number, flavorId = 'f-sold') =>
  made(seq, {
    kind: 'confirmed',
    flavorId,
    contractId: `c${seq}`,
    transactionId: `t${seq}`,
    buyerId: 'b',
  });

/**
 * The store's event table as the feed reads it: a read sees what was committed when it began
 * (its snapshot), leaves out `prev` as PostgreSQL's does, and may be held open by a test.
 */
class FakeEvents {
  rows: StoredEvent[] = [];
  reads: Array<{ after: number; skip: number[] }> = [];
  hold: Promise<void> | undefined;
  fail = 0;

  commit(...rows: StoredEvent[]): void {
    this.rows.push(...rows);
    this.rows.sort((a, b) => a.seq - b.seq);
  }

  async eventsAfter(after: number, limit: number, skip: readonly number[] = []) {
    this.reads.push({ after, skip: [...skip] });
    if (this.fail > 0) {
      this.fail--;
      throw new Error('unreachable');
    }
    const snapshot = this.rows
      .filter((r) => r.seq > after && !skip.includes(r.seq))
      .slice(0, limit)
      .map(({ prev: _prev, ...r }) => r);
    if (this.hold) await this.hold;
    return snapshot;
  }
}

function setup(from = 0) {
  const clock = new FakeClock();
  const store = new FakeEvents();
  const catalog = new Catalog(clock, undefined, undefined, { defaultTtlSeconds: 300 });
  const bus = new MemoryEventBus(
    clock,
    { maxEvents: 10_000, maxAgeMs: 1e12 },
    { lastSeq: from, events: [], epoch: 'e' },
  );
  const heard: DomainEvent[] = [];
  bus.listen((e) => heard.push(e));
  const errors: unknown[] = [];
  const feed = new SharedFeed(store as unknown as SharedStore, catalog, bus, clock, from, (err) =>
    errors.push(err),
  );
  return { store, catalog, feed, heard, errors, seqs: () => heard.map((e) => e.seq) };
}

/** Lets every pending promise callback run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('the shared feed', () => {
  it('applies the events this instance committed without reading them back', async () => {
    const { store, catalog, feed, heard, seqs } = setup();
    const v1 = entry(flavor('f1', 8));
    const v2 = entry(flavor('f1', 6));
    const a = made(1, { kind: 'added', flavor: v1 });
    const b = made(2, { kind: 'refreshed', flavor: v2, prev: v1, changes: [] });
    const c = confirmed(3, 'f1');
    store.commit(a.row, b.row, c.row);
    await feed.committed([a.own, b.own, c.own], 3);
    expect(store.reads).toEqual([]);
    expect(seqs()).toEqual([1, 2, 3]);
    expect(heard[1]).toBe(b.own.event);
    expect(catalog.get('f1')?.json).toBe(v2.json);
    expect(feed.counts).toMatchObject({ events: 3, own: 3, reads: 0, gaps: 0 });
    // Its own wake-up, arriving after, reads nothing.
    feed.wake(3);
    await settle();
    expect(store.reads).toEqual([]);
  });

  it('reads only the events of others, applying ours in their place: each seq once, in order', async () => {
    const { store, catalog, feed, heard, seqs } = setup();
    const other1 = entry(flavor('fa', 8));
    const other2 = entry(flavor('fa', 8, '2.00'));
    const mine = entry(flavor('fb', 4));
    const e1 = made(1, { kind: 'added', flavor: other1 });
    const e2 = made(2, { kind: 'added', flavor: mine });
    const e3 = made(3, { kind: 'refreshed', flavor: other2, prev: other1, changes: [] });
    const e4 = made(4, {
      kind: 'withdrawn',
      flavor: mine,
      reason: { Code: 'sold', Message: 'sold out' },
    });
    store.commit(e1.row, e2.row, e3.row);
    // Ours (2) is acknowledged while another instance's 1 and 3 are committed around it.
    await feed.committed([e2.own], 2);
    expect(store.reads).toEqual([{ after: 0, skip: [2] }]);
    expect(seqs()).toEqual([1, 2, 3]);
    expect(heard[1]).toBe(e2.own.event);
    // A refresh read from the store has the facts of the flavor before it from the copy.
    const refresh = heard[2] as DomainEvent & { kind: 'refreshed' };
    expect(refresh.kind).toBe('refreshed');
    expect(refresh.facts).toEqual(factsOf(other2.flavor));
    expect(refresh.prevFacts).toEqual(factsOf(other1.flavor));
    expect(catalog.get('fa')?.json).toBe(other2.json);
    store.commit(e4.row);
    await feed.committed([e4.own], 4);
    expect(store.reads).toHaveLength(1);
    expect(seqs()).toEqual([1, 2, 3, 4]);
    expect(catalog.get('fb')).toBeUndefined();
    expect(feed.counts).toMatchObject({ events: 4, own: 2, reads: 1, gaps: 0 });
  });

  it('applies once an event of ours that a read under way returns too', async () => {
    const { store, feed, heard, seqs } = setup();
    const e1 = confirmed(1);
    const e2 = confirmed(2);
    store.commit(e1.row, e2.row);
    let open!: () => void;
    store.hold = new Promise<void>((r) => (open = r));
    // The wake-up for 2 arrives before its commit is acknowledged to the instance.
    feed.wake(2);
    await settle();
    expect(store.reads).toEqual([{ after: 0, skip: [] }]);
    const done = feed.committed([e2.own], 2);
    open();
    await done;
    expect(seqs()).toEqual([1, 2]);
    expect(heard[1]).toBe(e2.own.event);
    expect(store.reads).toHaveLength(1);
  });

  it('ignores an event of ours a read has already applied', async () => {
    const { store, feed, seqs } = setup();
    const e1 = confirmed(1);
    const e2 = confirmed(2);
    store.commit(e1.row, e2.row);
    feed.wake(2);
    await settle();
    expect(seqs()).toEqual([1, 2]);
    await feed.committed([e2.own], 2);
    expect(seqs()).toEqual([1, 2]);
    expect(feed.counts.own).toBe(0);
  });

  it('holds ours back until an earlier seq acknowledged later (another connection) is in', async () => {
    const { store, feed, seqs } = setup();
    const e1 = confirmed(1);
    const e2 = confirmed(2);
    const e3 = confirmed(3);
    store.commit(e1.row, e2.row, e3.row);
    let open!: () => void;
    store.hold = new Promise<void>((r) => (open = r));
    const third = feed.committed([e3.own], 3);
    await settle();
    expect(store.reads).toEqual([{ after: 0, skip: [3] }]);
    // 2 is ours too, acknowledged while the read (which sees it) is out.
    const second = feed.committed([e2.own], 2);
    expect(seqs()).toEqual([]);
    open();
    await Promise.all([second, third]);
    expect(seqs()).toEqual([1, 2, 3]);
    expect(feed.counts).toMatchObject({ own: 2, gaps: 0 });
  });

  it('reads page by page, ours applied in their place across pages', async () => {
    const { store, feed, seqs } = setup();
    const ours = new Map([700, 1001, 1500].map((s) => [s, confirmed(s)]));
    for (let s = 1; s <= 1500; s++) store.commit((ours.get(s) ?? confirmed(s)).row);
    await Promise.all([...ours].map(([s, e]) => feed.committed([e.own], s)));
    expect(seqs()).toEqual(Array.from({ length: 1500 }, (_, i) => i + 1));
    expect(feed.counts).toMatchObject({ events: 1500, own: 3, gaps: 0 });
    // The first read began with only 700 known to be ours: 1001 came back in its page.
    expect(store.reads.map((r) => r.after)).toEqual([0, 1001]);
  });

  it('passes a pruned gap below an event of ours once a read shows it, and counts it', async () => {
    const { store, feed, seqs } = setup(2);
    const e5 = confirmed(5);
    store.commit(e5.row);
    await feed.committed([e5.own], 5);
    expect(seqs()).toEqual([5]);
    expect(feed.counts.gaps).toBe(1);
  });

  it('keeps ours through a failed read and applies them at the next wake-up', async () => {
    const { store, feed, errors, seqs } = setup();
    const e1 = confirmed(1);
    const e2 = confirmed(2);
    store.commit(e1.row, e2.row);
    store.fail = 1;
    let answered = false;
    const done = feed.committed([e2.own], 2).then(() => (answered = true));
    await settle();
    expect(errors).toHaveLength(1);
    expect(answered).toBe(false);
    feed.wake(undefined);
    await done;
    expect(seqs()).toEqual([1, 2]);
  });
});
