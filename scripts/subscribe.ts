/**
 * A minimal live WebSocket client for the hub: subscribes, prints every frame as one JSON
 * line, and on a drop reconnects with backoff and resumes with `since` (no gap, no duplicate).
 *
 *   npm run subscribe -- --token <token> [--url http://127.0.0.1:5000]
 *                        [--flavor <flavorId> | --selector '{"type":"k8slice","filter":{...}}']
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values } = parseArgs({
  options: {
    token: { type: 'string' },
    url: { type: 'string', default: 'http://127.0.0.1:5000' },
    flavor: { type: 'string' },
    selector: { type: 'string' },
  },
});
if (!values.token) {
  console.error(
    'usage: npm run subscribe -- --token <token> [--url URL] [--flavor ID | --selector JSON]',
  );
  process.exit(2);
}
const target = `${values.url.replace(/^http/, 'ws').replace(/\/$/, '')}/api/v2/subscriptions`;
const what = values.flavor
  ? { flavorId: values.flavor }
  : { selector: JSON.parse(values.selector ?? '{}') as object };

let since: number | undefined;
let backoff = 250;

function connect(): void {
  const ws = new WebSocket(target, { headers: { authorization: `Bearer ${values.token}` } });
  ws.on('open', () => {
    backoff = 250;
    ws.send(
      JSON.stringify({
        type: 'SUBSCRIBE_FLAVOR',
        id: 'cli',
        ...what,
        ...(since !== undefined ? { since } : {}),
      }),
    );
  });
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as { type: string; seq?: number };
    if (msg.type === 'SUBSCRIBED' && msg.seq !== undefined && since === undefined) since = msg.seq;
    if (msg.type !== 'SUBSCRIBED' && typeof msg.seq === 'number')
      since = Math.max(since ?? 0, msg.seq);
    console.log(JSON.stringify(msg));
  });
  ws.on('unexpected-response', (_req, res) => {
    console.error(`upgrade refused: HTTP ${res.statusCode}`);
    process.exit(1);
  });
  ws.on('close', (code) => {
    console.error(`closed (${code}); reconnecting in ${backoff} ms with since=${since ?? '-'}`);
    setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 10_000);
  });
  ws.on('error', () => {});
}

connect();
