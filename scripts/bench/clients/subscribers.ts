/**
 * A group of subscriber connections in one process: hub WebSockets (authenticated, each
 * subscribing to some flavors), raw ws sockets, or Socket.IO clients. Counts deliveries and,
 * in latency mode, records (receive − send) from the stamp the driver put in
 * Flavor.price.amount into a mergeable histogram, and the latest receive per event.
 */
import { io as ioClient, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { Histogram, stampMs } from '../lib/histogram.js';
import { serve } from '../lib/proc.js';

const o = JSON.parse(process.argv[2] ?? '{}') as {
  kind: 'hub' | 'ws' | 'socketio';
  url: string;
  n: number;
  tokens?: string[];
  flavorIds?: string[];
  perConnection?: number;
};

let count = 0;
let closedByServer = 0;
let latency = false;
let hist = new Histogram();
let lastRecv = new Map<string, number>();
const sockets: Array<WebSocket | Socket> = [];

function onPayload(text: string): void {
  count++;
  if (!latency) return;
  const now = stampMs();
  const m = /"amount":"([0-9.]+)"/.exec(text);
  if (!m) return;
  const sent = Number(m[1]);
  hist.recordMs(now - sent);
  const prev = lastRecv.get(m[1] as string);
  if (prev === undefined || now > prev) lastRecv.set(m[1] as string, now);
}

async function openHub(i: number): Promise<void> {
  const token = o.tokens?.[i % o.tokens.length] as string;
  const ws = new WebSocket(`${o.url.replace(/^http/, 'ws')}/api/v2/subscriptions`, {
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
  });
  sockets.push(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const per = o.perConnection ?? 1;
  const ids = o.flavorIds ?? [];
  let pending = per;
  const subscribed = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      const text = data.toString();
      if (pending > 0 && text.startsWith('{"type":"SUBSCRIBED"')) {
        if (--pending === 0) resolve();
        return;
      }
      if (text.startsWith('{"type":"REFRESH_FLAVOR"')) onPayload(text);
    });
  });
  ws.on('close', (code) => {
    if (code !== 1000 && code !== 1005) closedByServer++;
  });
  for (let k = 0; k < per; k++)
    ws.send(JSON.stringify({ type: 'SUBSCRIBE_FLAVOR', flavorId: ids[(i + k) % ids.length] }));
  await subscribed;
}

async function openWs(): Promise<void> {
  const ws = new WebSocket(o.url.replace(/^http/, 'ws'), { perMessageDeflate: false });
  sockets.push(ws);
  ws.on('message', (data) => onPayload(data.toString()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

async function openSio(): Promise<void> {
  const s = ioClient(o.url, { transports: ['websocket'], forceNew: true, reconnection: false });
  sockets.push(s);
  // Socket.IO hands the parsed object; re-serializing would bias against it, so read the stamp directly.
  s.on('refresh', (msg: { Flavor?: { price?: { amount?: string } } }) => {
    count++;
    if (!latency) return;
    const amount = msg.Flavor?.price?.amount;
    if (!amount) return;
    const now = stampMs();
    hist.recordMs(now - Number(amount));
    const prev = lastRecv.get(amount);
    if (prev === undefined || now > prev) lastRecv.set(amount, now);
  });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('connect_error', reject);
  });
}

const open = o.kind === 'hub' ? openHub : o.kind === 'ws' ? openWs : openSio;
for (let i = 0; i < o.n; i += 200) {
  await Promise.all(Array.from({ length: Math.min(200, o.n - i) }, (_, j) => open(i + j)));
}

serve((msg) => {
  switch (msg.type) {
    case 'reset':
      count = 0;
      closedByServer = 0;
      latency = Boolean(msg.latency);
      hist = new Histogram();
      lastRecv = new Map();
      return {};
    case 'report':
      return { count, closedByServer, hist: hist.toJSON(), lastRecv: [...lastRecv] };
    default:
      return {};
  }
});
process.send?.({ type: 'ready', n: sockets.length });
process.on('SIGTERM', () => {
  for (const s of sockets) (s as { close(): void }).close();
  process.exit(0);
});
