/**
 * examples/agent.ts as a user runs it, against a real hub: it buys the cheapest matching
 * offer, and when the provider withdraws that offer it buys the next best at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { hubsClosedAfterEach, k8slice, sleep } from '../helpers/hub.js';

const AGENT = new URL('../../examples/agent.ts', import.meta.url).pathname;
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
const P = 'tok-provider-a';
const C0 = 'tok-consumer-0';

const hubs = hubsClosedAfterEach();
let child: ChildProcess | undefined;
afterEach(() => {
  if (child?.exitCode === null) child.kill('SIGKILL');
});

describe('examples/agent.ts', () => {
  it(
    'buys the next best offer the moment its offer is withdrawn',
    { timeout: 60_000 },
    async () => {
      const hub = await hubs();
      const offer = async (cpu: string, amount: string) =>
        (
          await hub.api('POST', '/api/v2/flavors', P, {
            ...k8slice({ cpu }, {}),
            price: { amount, currency: 'EUR', period: 'hour' },
          })
        ).body;
      const best = await offer('8', '0.50');
      const next = await offer('8', '0.80');
      await offer('2', '0.10'); // cheapest, but under 4 CPU: not the agent's
      child = spawn(process.execPath, ['--import', TSX, AGENT], {
        env: { ...process.env, REAR_URL: hub.url, REAR_TOKEN: C0 },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      const waitFor = async (text: string) => {
        const end = Date.now() + 20_000;
        while (!out.includes(text)) {
          if (Date.now() > end || child?.exitCode !== null)
            throw new Error(`no "${text}" in: ${out}`);
          await sleep(50);
        }
      };
      await waitFor(`bought ${best.flavorId} at 0.50 EUR`);
      await hub.api('POST', `/api/v2/flavors/${best.flavorId}/withdraw`, P, {
        Reason: { Message: 'rack retired' },
      });
      await waitFor(`lost ${best.flavorId} (operator: rack retired)`);
      await waitFor(`bought ${next.flavorId} at 0.80 EUR`);
      const contracts = (await hub.api('GET', '/api/v2/contracts', C0)).body as any[];
      // Two partitions (1 CPU each), one from each offer.
      const from = await Promise.all(
        contracts.map(
          async (c) =>
            (await hub.api('GET', `/api/v2/transactions/${c.TransactionID}`, C0)).body.FlavorID,
        ),
      );
      expect(from.sort()).toEqual([best.flavorId, next.flavorId].sort());
      for (const c of contracts) expect(c.Flavor.type.data.characteristics.cpu).toBe('1');
    },
  );
});
