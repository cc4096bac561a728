/**
 * A flavor's summary (src/domain/flavor-summary.ts) must give the catalog exactly what parsing
 * the flavor gives: its availability and selector facts, whether the summary is read whole or
 * its shape was met before, and an entry made from it must be the entry made from the JSON.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesOf, makeEntry, parsedEntry, summarizedEntry } from '../../src/domain/flavor-entry.js';
import { factsOf } from '../../src/domain/flavor-facts.js';
import { fromSummary, summaryOf } from '../../src/domain/flavor-summary.js';
import type { FlavorType, Flavor } from '../../src/types/wire.js';
import { k8sliceData } from '../helpers/flavor-arbitraries.js';

const text = fc.string({ maxLength: 12 });
const count = fc.integer({ min: 0, max: 4096 });

const k8slice = k8sliceData(['amd64', 'arm64', 'ünïcode "q"']);

const vm = fc.record({
  Characteristics: fc.record(
    {
      Architecture: text,
      OS: text,
      CPU: count,
      Memory: count,
      Storage: count,
      GPU: fc.record({ GPUModel: text, GPUCores: count }),
    },
    { requiredKeys: [] },
  ),
});

const service = fc.record({
  Characteristics: fc.record({
    Name: text,
    Description: text,
    Category: text,
    Tags: fc.array(text, { maxLength: 4 }),
    HostingPolicies: fc.constant<string[]>([]),
    ConfigurationTemplate: fc.constant({}),
  }),
});

const sensor = fc.record({
  Characteristics: fc.record(
    {
      SensorType: text,
      SensorModel: text,
      SensorManufacturer: text,
      SamplingRate: fc.integer({ min: 0, max: 1000 }),
    },
    { requiredKeys: ['SensorType'] },
  ),
});

const type: fc.Arbitrary<FlavorType> = fc.oneof(
  k8slice.map((data) => ({ name: 'k8slice' as const, data })),
  vm.map((data) => ({ name: 'vm' as const, data })),
  service.map((data) => ({ name: 'service' as const, data })),
  sensor.map((data) => ({ name: 'sensor' as const, data })),
);

const flavor: fc.Arbitrary<Flavor> = fc.record({
  flavorId: fc.constantFrom('fl-1', 'fl-ü', 'fl-"2"'),
  providerId: fc.constantFrom('prov-a', 'prov-b'),
  timestamp: fc.constant('2026-01-01T00:00:00.000Z'),
  expirationTime: fc.constantFrom('2026-01-01T01:00:00.000Z', '2026-02-01T00:00:00.000Z'),
  type,
  price: fc.record({
    amount: fc.constantFrom('0', '0.10', '2.50', '1', '12345.6789'),
    currency: fc.constant('EUR'),
    period: fc.constant('hour'),
  }),
  owner: fc.constant({ domain: 'a', nodeId: 'prov-a', ip: '1.1.1.1' }),
  availability: fc.boolean(),
});

describe('flavor summaries', () => {
  it('give the availability and facts of the flavor, read whole or by a shape met before', () => {
    fc.assert(
      fc.property(flavor, (f) => {
        const want = { available: f.availability, facts: factsOf(structuredClone(f)) };
        const summary = summaryOf(f);
        // The first read may parse it whole; the second finds its shape.
        for (let i = 0; i < 2; i++) expect(fromSummary(summary, f.providerId)).toEqual(want);
        // Written by another serializer (spaces): read whole, the same.
        const spaced = JSON.stringify(JSON.parse(summary), null, 1);
        expect(fromSummary(spaced, f.providerId)).toEqual(want);
      }),
      { numRuns: 1000 },
    );
  });

  it('of another version are not read', () => {
    const f = fc.sample(flavor, { numRuns: 1, seed: 3 })[0] as Flavor;
    const other = summaryOf(f).replace(/^\[1,/, '[2,');
    expect(fromSummary(other, f.providerId)).toBeUndefined();
    expect(fromSummary('{}', f.providerId)).toBeUndefined();
  });

  it('make the entry the stored JSON makes, its JSON kept as the bytes read', () => {
    fc.assert(
      fc.property(flavor, fc.boolean(), fc.integer({ min: 1, max: 3600 }), (f, renew, ttl) => {
        const made = makeEntry(f, renew, ttl);
        // The JSON as a store reads it: bytes within a larger chunk.
        const chunk = Buffer.concat([Buffer.from('xx'), Buffer.from(made.json), Buffer.from('y')]);
        const bytes = { chunk, from: 2, to: chunk.length - 1 };
        const row = {
          flavorId: f.flavorId,
          providerId: f.providerId,
          status: 'live' as const,
          summary: summaryOf(f),
          expiresAt: made.expiresAt,
          autoRenew: renew,
          ttlSeconds: ttl,
        };
        const parsed = parsedEntry(bytes, renew, ttl);
        expect(parsed.summary).toBe(row.summary);
        for (const json of [made.json, bytes]) {
          const e = summarizedEntry({ ...row, json });
          if (!e) throw new Error('summary not read');
          for (const other of [made, parsed.entry]) {
            expect(e.flavorId).toBe(other.flavorId);
            expect(e.available).toBe(other.available);
            expect(e.facts).toEqual(other.facts);
            expect(e.expiresAt).toBe(other.expiresAt);
            expect(e.autoRenew).toBe(other.autoRenew);
            expect(e.ttlSeconds).toBe(other.ttlSeconds);
            expect(e.json).toBe(other.json);
            expect(e.flavor).toEqual(other.flavor);
          }
          // LIST's bytes: the very bytes read, or made from the text.
          expect(bytesOf(e).equals(Buffer.from(made.json))).toBe(true);
        }
        expect(summarizedEntry({ ...row, summary: undefined, json: made.json })).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});
