/**
 * The leader's rounds in a shared market: renew or retract the flavors that are due, end the
 * holds past their TTP whose instance did not (it died), take the waiters of dead instances
 * out of their lines, and prune the history. One instance leads at a time (the store elects
 * it), but nothing here relies on that for correctness: each piece of work is a conditional
 * change under the flavor's lock, a no-op when another instance did it first — leadership
 * only saves duplicate sweeps, since a dead host may keep its lock until TCP notices.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { SharedStore } from '../store/shared-store.js';
import type { EventBus } from './event-bus.js';
import type { SharedOffers } from './shared-offers.js';
import type { SharedReservations } from './shared-reservations.js';

/** Time between two rounds while leading. */
const ROUND_MS = 250;
/** Items taken per query in a round, and worked on at once. */
const BATCH = 200;
const PARALLEL = 8;
const PRUNE_EVERY_MS = 10_000;

export class SharedSweeper {
  private leading = false;
  private timer: TimerHandle | undefined;
  private running = false;
  private closed = false;
  private lastPrune = 0;
  private pruned = 0;

  constructor(
    private readonly store: SharedStore,
    private readonly offers: SharedOffers,
    private readonly reservations: SharedReservations,
    private readonly bus: EventBus,
    private readonly clock: Clock,
    private readonly onError: (err: unknown) => void,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  lead(isLeader: boolean): void {
    if (this.closed) return;
    this.leading = isLeader;
    if (isLeader && !this.timer) this.arm(0);
    if (!isLeader) {
      this.timer?.cancel();
      this.timer = undefined;
    }
  }

  close(): void {
    this.closed = true;
    this.leading = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      void this.round();
    }, ms);
  }

  private async round(): Promise<void> {
    if (!this.leading || this.running || this.closed) return;
    this.running = true;
    try {
      const now = this.clock.now();
      const flavors = await this.store.dueFlavors(now, BATCH);
      await inParallel(flavors, (id) => this.offers.due(id));
      const holds = await this.store.dueHolds(now, BATCH);
      await inParallel([...new Set(holds.map((h) => h.flavorId))], (id) =>
        this.reservations.expireDue(id),
      );
      const orphans = await this.store.orphanWaiters(now);
      await inParallel(orphans, (o) => this.reservations.dropWaiter(o.flavorId, o.waiterId));
      const prunable = this.bus.prunedThrough;
      if (now - this.lastPrune >= PRUNE_EVERY_MS && prunable > this.pruned) {
        await this.store.pruneEvents(prunable);
        this.pruned = prunable;
        this.lastPrune = now;
      }
    } catch (err) {
      this.onError(err);
    } finally {
      this.running = false;
      if (this.leading && !this.closed) this.arm(ROUND_MS);
    }
  }
}

async function inParallel<T>(
  items: readonly T[],
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < items.length; i += PARALLEL) {
    await Promise.all(items.slice(i, i + PARALLEL).map(fn));
  }
}
