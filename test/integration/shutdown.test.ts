/**
 * Closing the hub over real sockets: requests still arriving on open keep-alive connections
 * get the error table's UNAVAILABLE, like every other error, and are told to go elsewhere.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { k8slice, startHub, type TestHub } from '../helpers/hub.js';

let hub: TestHub | undefined;
let sock: Socket | undefined;
afterEach(async () => {
  sock?.destroy();
  await hub?.close();
  hub = undefined;
});

/** One raw keep-alive connection: what a client's pool holds open across the shutdown. */
function rawConnection(url: string): { socket: Socket; received: () => string } {
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  return { socket, received: () => text };
}

describe('shutdown', () => {
  it('answers a request that arrives while the hub closes with UNAVAILABLE from the error table, Retry-After and Connection: close', async () => {
    hub = await startHub({ shutdownGraceMs: 3000 });
    const flavor = (await hub.api('POST', '/api/v2/flavors', 'tok-provider-a', k8slice())).body;
    await hub.api('POST', '/api/v2/reservations', 'tok-consumer-1', { FlavorID: flavor.flavorId });
    const conn = rawConnection(hub.url);
    sock = conn.socket;
    // A buyer waits in line on this connection, so it is busy (not idle) when closing starts.
    const body = JSON.stringify({ FlavorID: flavor.flavorId });
    sock.write(
      'POST /api/v2/reservations HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer tok-consumer-0\r\n' +
        `Content-Type: application/json\r\nPrefer: wait=20\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await expect.poll(() => hub?.app.market.reservations.stats().waiters).toBe(1);
    const closed = hub.app.close();
    // The waiter is answered first; then the same connection sends one more request.
    await expect.poll(() => conn.received()).toContain('The hub is shutting down');
    const first = conn.received().length;
    sock.write(
      'GET /api/v2/whoami HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer tok-consumer-0\r\n\r\n',
    );
    await expect
      .poll(() => conn.received().length > first && conn.received().endsWith('}'))
      .toBe(true);
    const second = conn.received().slice(first);
    const [head = '', json = ''] = second.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    expect(head.toLowerCase()).toContain('retry-after: 1');
    expect(head.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(json)).toEqual({
      statusCode: 503,
      code: 'UNAVAILABLE',
      error: 'Service Unavailable',
      message: 'The hub is shutting down',
    });
    await closed;
    hub = undefined;
  });
});
