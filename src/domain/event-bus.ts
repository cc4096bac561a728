/**
 * The event bus carries committed domain events to whoever delivers them (the WebSocket hub)
 * and keeps a bounded history for resumption. event-bus-memory.ts is the single-instance
 * implementation; a multi-instance backend must keep the same promises:
 *
 * - Order: listeners see events in strictly growing `seq`; for one flavor that is the order
 *   its changes were committed, and nothing of a flavor follows its `withdrawn` event.
 * - Committed only: an event is published after the store commit that recorded it, so a
 *   subscriber never hears of a change a crash could undo.
 * - History: `replay(since)` returns, in order, every retained event with seq > since, and
 *   `reaches(since)` says whether nothing newer than `since` has been pruned — together they
 *   let a client resume with no gap. Publishing and replaying are atomic with respect to
 *   each other (a listener registered before `replay` returns misses nothing and, by
 *   comparing seq, sees nothing twice).
 */
import type { DomainEvent } from './events.js';

export type EventListener = (event: DomainEvent) => void;

export interface EventBus {
  publish(event: DomainEvent): void;
  /** Registers a listener; returns its removal. */
  listen(listener: EventListener): () => void;
  /** Retained events with seq > since, ascending. */
  replay(since: number): Iterable<DomainEvent>;
  /** Whether the retained history covers every event after `since`. */
  reaches(since: number): boolean;
  /** Names the history that seq numbers count in (§8 `epoch`); a new store starts a new one. */
  readonly epoch: string;
  /** The newest seq published (or loaded). */
  readonly lastSeq: number;
  /** Seq of the newest event dropped from history so far; 0 when none. */
  readonly prunedThrough: number;
}
