/**
 * `rear-hub publish FILE`: publishes one offer or an array of them (§7), politely — a few
 * requests at a time, each retried on 429 after the hub's Retry-After — with a progress bar
 * (on a terminal) and a summary. One offer per request: it works whether or not the hub takes
 * an array in one POST, and one bad offer does not hold back the others.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Flavor, FlavorPublish, HubApiError } from '../client/index.js';
import { action, globals, hubFor } from './context.js';
import { exitCodeOf, printJson, progressBar, UsageError } from './output.js';

/** Requests in flight at once. */
const CONCURRENCY = 8;
/** Retries of one offer on 429/503 before it counts as failed. */
const MAX_RETRIES = 50;

function readOffers(file: string): FlavorPublish[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not JSON: ${(err as Error).message}`);
  }
  const offers = Array.isArray(parsed) ? parsed : [parsed];
  offers.forEach((o, i) => {
    if (typeof o !== 'object' || o === null || Array.isArray(o))
      throw new UsageError(`${file}: offer ${i} is not a JSON object`);
  });
  return offers as FlavorPublish[];
}

export function register(program: Command): void {
  program
    .command('publish')
    .description('publish one offer or a JSON array of offers from a file (§7)')
    .argument('<file>')
    .action(
      action(async ([file], cmd) => {
        const offers = readOffers(file as string);
        const json = globals(cmd).json === true;
        let retries = 0;
        const hub = hubFor(cmd, { maxRetries: MAX_RETRIES, onRetry: () => void retries++ });
        const bar = progressBar(offers.length);
        const published: Array<Flavor | undefined> = new Array(offers.length);
        const failed: Array<{ index: number; error: HubApiError }> = [];
        let done = 0;
        let next = 0;
        const started = performance.now();
        const worker = async () => {
          while (next < offers.length) {
            const index = next++;
            try {
              published[index] = await hub.flavors.publish(offers[index] as FlavorPublish);
            } catch (err) {
              if (!(err instanceof Error && 'code' in err)) throw err;
              failed.push({ index, error: err as HubApiError });
            }
            bar.update(++done, retries ? `${retries} retried after 429` : '');
          }
        };
        await Promise.all(Array.from({ length: Math.min(CONCURRENCY, offers.length) }, worker));
        bar.end();
        const secs = ((performance.now() - started) / 1000).toFixed(1);
        const ok = published.filter((f): f is Flavor => f !== undefined);
        if (json) printJson(offers.length === 1 && ok.length === 1 ? ok[0] : ok);
        else if (offers.length === 1 && ok[0]) console.log(`published ${ok[0].flavorId}`);
        failed.sort((a, b) => a.index - b.index);
        for (const f of failed)
          console.error(`rear-hub: offer ${f.index}: ${f.error.code}: ${f.error.message}`);
        console.error(
          `published ${ok.length} of ${offers.length} offer(s) in ${secs} s` +
            `${retries ? `, ${retries} request(s) retried after 429` : ''}` +
            `${failed.length ? `, ${failed.length} failed` : ''}`,
        );
        return failed[0] ? exitCodeOf(failed[0].error) : 0;
      }),
    );
}
