/**
 * The in-process bus over a history retained at open: that part is read from the store only by
 * a resume that reaches back to it, answered whole, in order, with no gap and no duplicate
 * against events published while the store was read; pruned (by count at once, by age once
 * its times are read) before anything published after it.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock.js';
import { MemoryEventBus, type StoredHistory } from '../../src/domain/event-bus-memory.js';
import type { DomainEvent } from '../../src/domain/events.js';
import { fromRecord } from '../../src/domain/events.js';
import type { EventTime, StoredEvent } from '../../src/store/store.js';

const record = (seq: number, at: number, flavorId = `f${seq % 3}`): StoredEvent => ({
  seq,
  at,
  flavorId,
  wire: `{"type":"FLAVOR_ADDED","seq":${seq},"flavorId":"${flavorId}","Flavor":{}}`,
});

/** A store holding `records`; each read waits until `release()` when `gated`. */
function storeOf(records: StoredEvent[], gated = false) {
  const waiting: Array<() => void> = [];
  const gate = (): Promise<void> =>
    gated ? new Promise((resolve) => waiting.push(resolve)) : Promise.resolve();
  const reads: Array<[number, number]> = [];
  const timeReads: Array<[number, number]> = [];
  const store: StoredHistory = {
    async eventsAfter(after: number, limit: number): Promise<StoredEvent[]> {
      reads.push([after, limit]);
      await gate();
      return records.filter((r) => r.seq > after).slice(0, limit);
    },
    async eventTimes(after: number, limit: number): Promise<EventTime[]> {
      timeReads.push([after, limit]);
      await gate();
      return records
        .filter((r) => r.seq > after)
        .slice(0, limit)
        .map(({ seq, at }) => ({ seq, at }));
    },
  };
  const release = (): void => {
    for (const r of waiting.splice(0)) r();
  };
  return { store, reads, timeReads, release, records };
}

function busOver(
  clock: FakeClock,
  records: StoredEvent[],
  bound = { maxEvents: 1000, maxAgeMs: 60_000 },
  gated = false,
) {
  const s = storeOf(records, gated);
  const last = records.at(-1)?.seq ?? 0;
  const bus = new MemoryEventBus(
    clock,
    bound,
    { lastSeq: last, firstSeq: records[0]?.seq ?? last + 1, epoch: 'e' },
    s.store,
  );
  return { bus, ...s };
}

/** Resumes and resolves with what `then` was given. */
function resumed(bus: MemoryEventBus, since: number, keep = (_e: DomainEvent) => true) {
  return new Promise<number[] | undefined>((resolve) =>
    bus.resume(since, keep, (events) => resolve(events?.map((e) => e.seq))),
  );
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

const added = (seq: number, at: number): DomainEvent => fromRecord(record(seq, at));

describe('MemoryEventBus over a stored history', () => {
  it('reads the history retained at open from the store, a page at a time, only when a resume needs it', async () => {
    const clock = new FakeClock();
    const now = clock.now();
    const { bus, reads } = busOver(
      clock,
      range(1, 2500).map((s) => record(s, now)),
      { maxEvents: 10_000, maxAgeMs: 60_000 },
    );
    expect(bus.prunedThrough).toBe(0);
    expect(bus.lastSeq).toBe(2500);
    expect(reads).toEqual([]);
    expect(await resumed(bus, 10)).toEqual(range(11, 2500));
    // 1,000 per page, never past the stored part.
    expect(reads).toEqual([
      [10, 1000],
      [1010, 1000],
      [2010, 490],
    ]);
    expect(await resumed(bus, 2400, (e) => e.flavorId === 'f0')).toEqual(
      range(2401, 2500).filter((s) => s % 3 === 0),
    );
    // Nothing owed after the newest: answered at once, from memory, with no read.
    const before = reads.length;
    let answer: DomainEvent[] | undefined;
    bus.resume(
      2500,
      () => true,
      (events) => (answer = events),
    );
    expect(answer).toEqual([]);
    expect(reads.length).toBe(before);
  });

  it('answers a resume that read the store with the events published meanwhile, once each, in the turn it takes them', async () => {
    const clock = new FakeClock();
    const now = clock.now();
    const { bus, release } = busOver(
      clock,
      range(1, 5).map((s) => record(s, now)),
      undefined,
      true,
    );
    const heard: number[] = [];
    let answer: number[] | undefined;
    bus.resume(
      2,
      () => true,
      (events) => {
        answer = events?.map((e) => e.seq);
        // Registered in the answer's turn: hears what follows, nothing twice.
        bus.listen((e) => heard.push(e.seq));
      },
    );
    bus.publish(added(6, now));
    bus.publish(added(7, now));
    expect(answer).toBeUndefined();
    release();
    await new Promise((r) => setImmediate(r));
    expect(answer).toEqual([3, 4, 5, 6, 7]);
    bus.publish(added(8, now));
    expect(heard).toEqual([8]);
  });

  it('answers "not recovered" when the store lost part of what a resume reads', async () => {
    const clock = new FakeClock();
    const now = clock.now();
    const { bus, records } = busOver(
      clock,
      range(1, 10).map((s) => record(s, now)),
    );
    // Another instance pruned the shared store past this one's bound.
    records.splice(0, 4);
    expect(bus.reaches(2)).toBe(true);
    expect(await resumed(bus, 2)).toBeUndefined();
    expect(await resumed(bus, 4)).toEqual(range(5, 10));
  });

  it('prunes the stored part first, by count at once, then what was published after it', async () => {
    const clock = new FakeClock();
    const now = clock.now();
    const { bus } = busOver(
      clock,
      range(1, 10).map((s) => record(s, now)),
      { maxEvents: 6, maxAgeMs: 60_000 },
    );
    expect(bus.prunedThrough).toBe(4);
    expect(await resumed(bus, 3)).toBeUndefined();
    expect(await resumed(bus, 4)).toEqual(range(5, 10));
    for (const s of range(11, 14)) bus.publish(added(s, now));
    expect(bus.prunedThrough).toBe(8);
    for (const s of range(15, 17)) bus.publish(added(s, now));
    expect(bus.prunedThrough).toBe(11);
    expect(await resumed(bus, 11)).toEqual(range(12, 17));
  });

  it('applies the age bound to the stored part once its times are read, and keeps newer events until then', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    // Three events a minute old, two fresh ones.
    const { bus } = busOver(clock, [
      record(1, start - 120_000),
      record(2, start - 90_000),
      record(3, start - 61_000),
      record(4, start - 1_000),
      record(5, start),
    ]);
    // Times not read yet: nothing goes by age, not even an event published later.
    clock.advance(120_000);
    bus.publish(added(6, start - 200_000));
    expect(bus.prunedThrough).toBe(0);
    await bus.readTimes(2);
    // Everything stored has aged out by now, and so has event 6.
    expect(bus.prunedThrough).toBe(6);
    expect(await resumed(bus, 5)).toBeUndefined();
    expect(await resumed(bus, 6)).toEqual([]);
  });

  it('reads times from where count pruning left the stored part, and stops once closed', async () => {
    const clock = new FakeClock();
    const now = clock.now();
    const { bus } = busOver(
      clock,
      range(1, 20).map((s) => record(s, now - (20 - s) * 10_000)),
      { maxEvents: 10, maxAgeMs: 45_000 },
    );
    expect(bus.prunedThrough).toBe(10);
    await bus.readTimes(3);
    // Ages 90 s … 0 s: those older than 45 s (seqs 11–15) go.
    expect(bus.prunedThrough).toBe(15);
    const closed = busOver(
      clock,
      range(1, 20).map((s) => record(s, now - 100_000)),
    ).bus;
    closed.close();
    await closed.readTimes();
    expect(closed.prunedThrough).toBe(0);
  });

  it('reads the stored times only as the age bound reaches them, a page at a time', async () => {
    const clock = new FakeClock();
    const now = clock.now();
    // Seq s is (20 - s) seconds old; the bound keeps a minute.
    const { bus, timeReads } = busOver(
      clock,
      range(1, 20).map((s) => record(s, now - (20 - s) * 1000)),
    );
    await bus.readTimes(4);
    // The oldest page is young enough: nothing else is read.
    expect(timeReads).toEqual([[0, 4]]);
    expect(bus.prunedThrough).toBe(0);
    // 45 s later seqs 1–4 are past the bound: the next page is read, and seq 5 stays.
    clock.advance(45_000);
    bus.publish(added(21, clock.now()));
    await bus.readTimes(4);
    expect(bus.prunedThrough).toBe(4);
    expect(timeReads).toEqual([
      [0, 4],
      [4, 4],
    ]);
    expect(await resumed(bus, 4)).toEqual(range(5, 21));
  });
});

describe('MemoryEventBus memory', () => {
  it('lets an event it drops be collected at once, not at its next compaction', async () => {
    // gc() from a fresh context once the flag is set (vitest's workers run without it).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const clock = new FakeClock();
    const { bus } = busOver(clock, [], { maxEvents: 10, maxAgeMs: 60_000 });
    // Published from a function of its own: no variable of the test holds the event.
    const publishFirst = (): WeakRef<DomainEvent> => {
      const first = added(1, clock.now());
      bus.publish(first);
      return new WeakRef(first);
    };
    const ref = publishFirst();
    // 20 more: the first is dropped by count, far below the compaction's 1,024 dropped slots.
    for (let s = 2; s <= 21; s++) bus.publish(added(s, clock.now()));
    expect(bus.prunedThrough).toBe(11);
    expect(await resumed(bus, 11)).toEqual(range(12, 21));
    // A WeakRef keeps its target until the job that made it ends.
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    expect(ref.deref()).toBeUndefined();
  });
});
