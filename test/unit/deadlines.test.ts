import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock.js';
import { DeadlineQueue } from '../../src/domain/deadlines.js';

describe('DeadlineQueue', () => {
  it('fires in due order on one timer', () => {
    const clock = new FakeClock();
    const q = new DeadlineQueue(clock);
    const fired: string[] = [];
    const t0 = clock.now();
    q.schedule('c', t0 + 300, () => fired.push('c'));
    q.schedule('a', t0 + 100, () => fired.push('a'));
    q.schedule('b', t0 + 200, () => fired.push('b'));
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(150);
    expect(fired).toEqual(['a']);
    clock.advance(1000);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('replaces a key when rescheduled, and cancels', () => {
    const clock = new FakeClock();
    const q = new DeadlineQueue(clock);
    const fired: string[] = [];
    const t0 = clock.now();
    q.schedule('k', t0 + 100, () => fired.push('first'));
    q.schedule('k', t0 + 500, () => fired.push('second'));
    q.schedule('x', t0 + 50, () => fired.push('x'));
    q.cancel('x');
    clock.advance(200);
    expect(fired).toEqual([]);
    clock.advance(400);
    expect(fired).toEqual(['second']);
  });

  it('re-arms for deadlines beyond the longest timer', () => {
    const clock = new FakeClock();
    const q = new DeadlineQueue(clock);
    let fired = false;
    q.schedule('far', clock.now() + 40 * 86_400_000, () => (fired = true));
    clock.advance(30 * 86_400_000);
    expect(fired).toBe(false);
    clock.advance(11 * 86_400_000);
    expect(fired).toBe(true);
  });

  it('costs what is due, not what is scheduled', () => {
    const clock = new FakeClock();
    const q = new DeadlineQueue(clock);
    const t0 = clock.now();
    let n = 0;
    for (let i = 0; i < 100_000; i++) q.schedule(`far${i}`, t0 + 3_600_000 + i, () => n++);
    for (let i = 0; i < 10; i++) q.schedule(`due${i}`, t0 + 1000 + i, () => n++);
    clock.advance(2000);
    expect(n).toBe(10);
    expect(q.stats().popped).toBe(10);
    expect(clock.pendingTimers()).toBe(1);
  });

  it('close() stops everything and is safe twice', () => {
    const clock = new FakeClock();
    const q = new DeadlineQueue(clock);
    let fired = false;
    q.schedule('a', clock.now() + 10, () => (fired = true));
    q.close();
    q.close();
    clock.advance(100);
    expect(fired).toBe(false);
    expect(clock.pendingTimers()).toBe(0);
    q.schedule('b', clock.now() + 10, () => (fired = true));
    clock.advance(100);
    expect(fired).toBe(false);
  });
});
