/**
 * The event bus carries committed domain events to whoever delivers them (the WebSocket hub)
 * and keeps a bounded history for resumption. event-bus-memory.ts is the single-instance
 * implementation; a multi-instance backend must keep the same promises:
 *
 * - Order: listeners see events in strictly growing `seq`; for one flavor that is the order
 *   its changes were committed, and nothing of a flavor follows its `withdrawn` event.
 * - Committed only: an event is published after the store commit that recorded it, so a
 *   subscriber never hears of a change a crash could undo.
 * - History: `resume(since)` hands over, in order, every retained event with seq > since, or
 *   says the history no longer reaches `since` — so a client resumes with no gap. It does so
 *   in the turn that takes the newest of them, before any later publish: a listener
 *   registered there misses nothing and sees nothing twice. The part of the history only the
 *   store holds (what was retained at start) is read from it first, so the answer may come
 *   in a later turn; `reaches` tells at once whether one is owed.
 */
import type { DomainEvent } from './events.js';

export type EventListener = (event: DomainEvent) => void;

/** The answer to a resume: the events it is owed, or undefined for "not recoverable". */
export type Resumed = (events: DomainEvent[] | undefined) => void;

export interface EventBus {
  publish(event: DomainEvent): void;
  /** Registers a listener; returns its removal. */
  listen(listener: EventListener): () => void;
  /**
   * Calls `then` once with the retained events with seq > since that `keep` accepts,
   * ascending, or with undefined when the history does not cover every event after `since`
   * (pruned past it, a read of the store failed, or `since` is ahead of `lastSeq`). At once
   * when the history in memory covers it, else once the store has been read. `then` must not
   * throw.
   */
  resume(since: number, keep: (event: DomainEvent) => boolean, then: Resumed): void;
  /** Whether the retained history covers every event after `since` (as of now). */
  reaches(since: number): boolean;
  /** Names the history that seq numbers count in (§8 `epoch`); a new store starts a new one. */
  readonly epoch: string;
  /** The newest seq published (or loaded). */
  readonly lastSeq: number;
  /** Seq of the newest event dropped from history so far; 0 when none. */
  readonly prunedThrough: number;
}
