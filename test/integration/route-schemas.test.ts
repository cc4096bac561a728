/**
 * Route schemas compile on first use (src/http/lazy-compilers.ts): every one of them must
 * still compile, and a route answers the same before and after the rest are compiled.
 */
import { describe, expect, it } from 'vitest';
import { hubsClosedAfterEach } from '../helpers/hub.js';

const startHub = hubsClosedAfterEach();

describe('route schemas', () => {
  it('all compile', async () => {
    const hub = await startHub();
    await expect(hub.app.compileSchemas()).resolves.toBeUndefined();
  });

  it('validate and serialize the same on first use as once all are compiled', async () => {
    const hub = await startHub();
    const bad = { type: { name: 'k8slice' } };
    const first = await hub.api('POST', '/api/v2/flavors', 'tok-provider-a', bad);
    const keys = await hub.api('GET', '/api/v2/keys');
    await hub.app.compileSchemas(true);
    const again = await hub.api('POST', '/api/v2/flavors', 'tok-provider-a', bad);
    expect(first.status).toBe(400);
    expect(again.status).toBe(400);
    expect({ ...again.body, requestId: undefined }).toEqual({
      ...first.body,
      requestId: undefined,
    });
    expect((await hub.api('GET', '/api/v2/keys')).text).toBe(keys.text);
  });
});
