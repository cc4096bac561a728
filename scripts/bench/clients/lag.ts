/**
 * The catalog copies' lag under sale load: one WebSocket per hub instance, each subscribed to
 * every k8slice by selector, recording for each event its seq, its `at` (stamped by the
 * instance that committed it when it decided the change, under the flavor's row lock) and when it arrived here. The
 * orchestrator turns that into how far behind (ms, and events) each instance's copy was.
 */
import WebSocket from 'ws';
import { serve } from '../lib/proc.js';

const o = JSON.parse(process.argv[2] ?? '{}') as { urls: string[]; token: string };

let recording = false;
const seen: Array<Array<[number, number, number]>> = o.urls.map(() => []);

await Promise.all(
  o.urls.map(async (url, i) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v2/subscriptions`, {
      headers: { authorization: `Bearer ${o.token}` },
      perMessageDeflate: false,
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const subscribed = new Promise<void>((resolve) => {
      ws.on('message', (data) => {
        const now = Date.now();
        const text = data.toString();
        if (text.startsWith('{"type":"SUBSCRIBED"')) return resolve();
        if (!recording) return;
        // Cut seq and at out of the head of the message instead of parsing it all.
        const seq = /"seq":(\d+)/.exec(text);
        const at = /"at":"([^"]+)"/.exec(text);
        if (seq && at) seen[i]?.push([Number(seq[1]), Date.parse(at[1] as string), now]);
      });
    });
    ws.send(JSON.stringify({ type: 'SUBSCRIBE_FLAVOR', selector: { type: 'k8slice' } }));
    await subscribed;
  }),
);

serve((msg) => {
  switch (msg.type) {
    case 'start':
      for (const s of seen) s.length = 0;
      recording = true;
      return {};
    case 'stop':
      recording = false;
      return { seen };
    default:
      return {};
  }
});
process.send?.({ type: 'ready' });
process.on('SIGTERM', () => process.exit(0));
