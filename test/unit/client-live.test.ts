/**
 * The SDK's live channel against a scripted socket, for what a conforming hub never does: a
 * resume answered `recovered: true` from another epoch, events repeated or out of order.
 */
import { describe, expect, it } from 'vitest';
import {
  RearHub,
  type FlavorEvent,
  type SubscribedContext,
  type WebSocketConstructor,
} from '../../src/client/index.js';
import type { Flavor } from '../../src/types/wire.js';

class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: any[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
  recv(msg: unknown): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
}

const flavor = (id: string): Flavor => ({
  flavorId: id,
  providerId: 'p',
  timestamp: '2026-01-01T00:00:00Z',
  expirationTime: '2026-01-01T01:00:00Z',
  type: { name: 'k8slice', data: { characteristics: { cpu: '1', memory: '1Gi', pods: '10' } } },
  price: { amount: '1.00', currency: 'EUR', period: 'hour' },
  owner: { domain: 'd', nodeId: 'p', ip: '10.0.0.1' },
  availability: true,
});
const added = (seq: number, id: string) => ({
  type: 'FLAVOR_ADDED',
  seq,
  at: '2026-01-01T00:00:00Z',
  flavorId: id,
  Flavor: flavor(id),
});

async function until(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(pred()).toBe(true);
}

function setup(heartbeatMs = 0) {
  FakeSocket.all = [];
  const hub = new RearHub({
    url: 'http://hub.test',
    token: 't',
    WebSocket: FakeSocket as unknown as WebSocketConstructor,
    reconnectBackoff: { baseMs: 1, capMs: 1 },
    heartbeatMs,
  });
  const sub = hub.subscribe({ selector: {} });
  const contexts: SubscribedContext[] = [];
  const events: FlavorEvent[] = [];
  sub.on('subscribed', (c) => contexts.push(c));
  sub.on('event', (e) => events.push(e));
  return { hub, sub, contexts, events, socket: () => FakeSocket.all.at(-1) as FakeSocket };
}

describe('the SDK live channel', () => {
  it('does not believe a resume recovered from another epoch: it subscribes afresh and reports a re-snapshot', async () => {
    const { hub, contexts, events, socket } = setup();
    socket().open();
    const first = socket().sent[0];
    expect(first).toMatchObject({ type: 'SUBSCRIBE_FLAVOR', selector: {} });
    expect(first.since).toBeUndefined();
    socket().recv({
      type: 'SUBSCRIBED',
      id: first.id,
      subscription: '1',
      flavors: [],
      seq: 10,
      epoch: 'a',
    });
    socket().recv(added(11, 'f1'));
    socket().close();
    await until(() => FakeSocket.all.length === 2);
    socket().open();
    const resume = socket().sent[0];
    expect(resume).toMatchObject({ since: 11, epoch: 'a' });
    // A hub that (wrongly) recovers from another history:
    socket().recv({
      type: 'SUBSCRIBED',
      id: resume.id,
      subscription: '1',
      flavors: [],
      recovered: true,
      seq: 30,
      epoch: 'b',
    });
    const again = socket().sent[1];
    expect(again).toMatchObject({ type: 'SUBSCRIBE_FLAVOR', selector: {} });
    expect(again.since).toBeUndefined();
    socket().recv({
      type: 'SUBSCRIBED',
      id: again.id,
      subscription: '1',
      flavors: [flavor('g')],
      seq: 30,
      epoch: 'b',
    });
    expect(contexts.map((c) => [c.recovered, c.wasRecovering])).toEqual([
      [false, false],
      [false, true],
    ]);
    expect(contexts[1]?.epoch).toBe('b');
    expect(events.map((e) => e.seq)).toEqual([11]);
    hub.close();
  });

  it('drops an event seen already or older than the position, and routes a backlog to its subscription alone', async () => {
    const { hub, sub, events, socket } = setup();
    const other = hub.subscribe({ flavorId: 'f2' });
    const otherEvents: FlavorEvent[] = [];
    other.on('event', (e) => otherEvents.push(e));
    socket().open();
    const [a, b] = socket().sent;
    socket().recv({
      type: 'SUBSCRIBED',
      id: a.id,
      subscription: '1',
      flavors: [],
      seq: 5,
      epoch: 'e',
    });
    socket().recv({
      type: 'SUBSCRIBED',
      id: b.id,
      subscription: '2',
      flavors: [flavor('f2')],
      seq: 5,
      epoch: 'e',
    });
    socket().recv(added(6, 'f1'));
    socket().recv(added(6, 'f1'));
    socket().recv(added(4, 'f0'));
    expect(events.map((e) => e.seq)).toEqual([6]);
    socket().close();
    await until(() => FakeSocket.all.length === 2);
    socket().open();
    const [ra, rb] = socket().sent;
    expect(ra.since).toBe(6);
    expect(rb.since).toBe(5);
    socket().recv({
      type: 'SUBSCRIBED',
      id: ra.id,
      subscription: '3',
      flavors: [],
      recovered: true,
      seq: 9,
      epoch: 'e',
    });
    socket().recv(added(7, 'f2')); // backlog of the selector subscription, not the flavor's
    socket().recv({
      type: 'SUBSCRIBED',
      id: rb.id,
      subscription: '4',
      flavors: [],
      recovered: true,
      seq: 9,
      epoch: 'e',
    });
    socket().recv({ ...added(8, 'f2'), type: 'REFRESH_FLAVOR', ModificationDetails: [] });
    socket().recv({ ...added(10, 'f2'), type: 'REFRESH_FLAVOR', ModificationDetails: [] });
    expect(events.map((e) => e.seq)).toEqual([6, 7, 10]);
    expect(otherEvents.map((e) => e.seq)).toEqual([8, 10]);
    expect(sub.state).toBe('subscribed');
    hub.close();
    expect(sub.state).toBe('unsubscribed');
  });

  it('replaces a socket that does not answer its PING (a half-open connection), and resumes', async () => {
    const { hub, socket } = setup(20);
    const first = socket();
    first.open();
    first.recv({
      type: 'SUBSCRIBED',
      id: first.sent[0].id,
      subscription: '1',
      flavors: [],
      seq: 3,
      epoch: 'e',
    });
    await until(() => first.sent.some((m) => m.type === 'PING'));
    // The hub answers nothing more: the next beat gives the socket up.
    await until(() => FakeSocket.all.length === 2);
    expect(first.readyState).toBe(3);
    socket().open();
    expect(socket().sent[0]).toMatchObject({ type: 'SUBSCRIBE_FLAVOR', since: 3, epoch: 'e' });
    hub.close();
  });
});
