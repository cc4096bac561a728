import { describe, expect, it } from 'vitest';
import { PING_TICK_MS, PingWheel } from '../../src/ws/ping-wheel.js';

const member = (id: number) => ({ id, pingSlice: -1 });

describe('PingWheel', () => {
  it('cuts the interval into ticks of about a second, and keeps one slice for short intervals', () => {
    expect(new PingWheel(30_000)).toMatchObject({ sliceCount: 30, tickMs: 1000 });
    expect(new PingWheel(2_500)).toMatchObject({ sliceCount: 3 });
    expect(new PingWheel(2_500).tickMs * 3).toBeCloseTo(2_500);
    expect(new PingWheel(150)).toMatchObject({ sliceCount: 1, tickMs: 150 });
    expect(new PingWheel(PING_TICK_MS * 1.4).sliceCount).toBe(1);
  });

  it('visits every member exactly once per turn of the wheel, a slice per tick', () => {
    const wheel = new PingWheel<ReturnType<typeof member>>(5_000);
    const members = Array.from({ length: 23 }, (_, i) => member(i));
    for (const m of members) wheel.add(m);
    for (let turn = 0; turn < 3; turn++) {
      const seen: number[] = [];
      for (let tick = 0; tick < wheel.sliceCount; tick++) {
        const slice = [...wheel.visit()].map((m) => m.id);
        // Round robin: slices differ by one member at most.
        expect(slice.length).toBeGreaterThanOrEqual(4);
        expect(slice.length).toBeLessThanOrEqual(5);
        seen.push(...slice);
      }
      expect(seen.sort((a, b) => a - b)).toEqual(members.map((m) => m.id));
    }
  });

  it('a removed member is not visited again; one added later is visited within a turn', () => {
    const wheel = new PingWheel<ReturnType<typeof member>>(4_000);
    const members = Array.from({ length: 8 }, (_, i) => member(i));
    for (const m of members) wheel.add(m);
    wheel.remove(members[3] as ReturnType<typeof member>);
    wheel.visit();
    const late = member(99);
    wheel.add(late);
    const seen: number[] = [];
    for (let tick = 0; tick < wheel.sliceCount; tick++)
      seen.push(...[...wheel.visit()].map((m) => m.id));
    expect(seen).not.toContain(3);
    expect(seen.filter((id) => id === 99)).toHaveLength(1);
    expect(seen).toHaveLength(8);
  });
});
