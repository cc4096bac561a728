/**
 * The flavors a shared-market instance holds parsed (shared-entries.ts): a row or an event
 * that carries the same JSON text gets an entry sharing the held one's flavor, JSON and facts
 * with its own schedule; any other text is parsed, and an event's Flavor keeps the bytes the
 * event carried, which are what serializing the parsed flavor gives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/clock.js';
import { Catalog } from '../../src/domain/catalog.js';
import { carriesFlavor, flavorJsonIn, stamp, type EventDraft } from '../../src/domain/events.js';
import { makeEntry, type FlavorEntry } from '../../src/domain/flavor-entry.js';
import { factsOf } from '../../src/domain/flavor-facts.js';
import { holdKey, newHoldRow, newTransaction } from '../../src/domain/holds.js';
import { SharedEntries } from '../../src/domain/shared-entries.js';
import type { SharedFlavor, SharedTransaction } from '../../src/store/shared-store.js';
import type { StoredEvent } from '../../src/store/store.js';
import type { Flavor } from '../../src/types/wire.js';
import { k8sliceFlavor } from '../helpers/flavors.js';

const flavor = (id: string, cpu: number, domain?: string): Flavor =>
  k8sliceFlavor(id, cpu, { domain });

const rowOf = (e: FlavorEntry, autoRenew = true, ttlSeconds = 90): SharedFlavor => ({
  flavorId: e.flavorId,
  providerId: 'p',
  status: 'live',
  json: e.json,
  expiresAt: e.expiresAt,
  autoRenew,
  ttlSeconds,
});

const record = (seq: number, draft: EventDraft): StoredEvent =>
  stamp(draft, seq, 1000 + seq).record;

function setup() {
  const catalog = new Catalog(new FakeClock(), undefined, undefined, {
    defaultTtlSeconds: 300,
    listCacheBytes: 0,
  });
  return { catalog, entries: new SharedEntries(catalog) };
}

describe('the entries a shared-market instance holds', () => {
  it('makes a row whose JSON is the catalog copy’s from the copy, with the row’s schedule', () => {
    const { catalog, entries } = setup();
    const copy = makeEntry(flavor('fa', 8), false, 0);
    catalog.put(copy);
    const e = entries.ofRow(rowOf(copy, true, 90));
    expect(e.flavor).toBe(copy.flavor);
    expect(e.facts).toBe(copy.facts);
    expect(e.json).toBe(copy.json);
    expect([e.autoRenew, e.ttlSeconds, e.expiresAt]).toEqual([true, 90, copy.expiresAt]);
    // The copy stays the catalog's own, unchanged.
    expect([copy.autoRenew, copy.current]).toEqual([false, true]);
  });

  it('parses a row whose JSON differs from everything held', () => {
    const { catalog, entries } = setup();
    catalog.put(makeEntry(flavor('fa', 8), false, 0));
    const stored = makeEntry(flavor('fa', 6), true, 60);
    const e = entries.ofRow(rowOf(stored));
    expect(e.flavor).not.toBe(stored.flavor);
    expect(e.flavor).toEqual(stored.flavor);
    expect(e.facts).toEqual(factsOf(stored.flavor));
    expect(e.json).toBe(stored.json);
  });

  it('hands the feed the version this instance wrote, once, and the row its own write', () => {
    const { entries } = setup();
    const v1 = makeEntry(flavor('fa', 8), true, 60);
    const v2 = makeEntry(flavor('fa', 6), true, 60);
    entries.wrote(v2);
    expect(entries.ofRow(rowOf(v2)).flavor).toBe(v2.flavor);
    const event = record(7, { kind: 'refreshed', flavor: v2, prev: v1, changes: [] });
    const copy = entries.ofEvent(event);
    expect(copy.flavor).toBe(v2.flavor);
    expect([copy.autoRenew, copy.ttlSeconds]).toEqual([false, 0]);
    // Read back once: the same event again (another reader's view) is parsed.
    const again = entries.ofEvent(event);
    expect(again.flavor).not.toBe(v2.flavor);
    expect(again.flavor).toEqual(v2.flavor);
  });

  it('parses an event carrying another version than the one written here', () => {
    const { entries } = setup();
    const mine = makeEntry(flavor('fa', 8), true, 60);
    const theirs = makeEntry(flavor('fa', 4), true, 60);
    entries.wrote(mine);
    const copy = entries.ofEvent(record(3, { kind: 'added', flavor: theirs }));
    expect(copy.flavor).not.toBe(mine.flavor);
    expect(copy.flavor).toEqual(theirs.flavor);
    expect(copy.json).toBe(theirs.json);
  });

  it('reads back a hold granted here as its Transaction until it ends here', () => {
    const { entries } = setup();
    const tx = newTransaction('tx-1', { NodeID: 'b', Domain: 'd', IP: '1' }, 'fa', 5000, {
      type: 'k8slice',
      data: { cpu: '2', memory: '2Gi', pods: '10' },
    });
    const key = holdKey('b', 'fa', tx.Configuration);
    const row: SharedTransaction = { ...newHoldRow(tx, key, 'b', 5000), holdKey: key };
    // The row JSON written from its parts is what serializing the Transaction gives.
    expect(entries.txOf(row)).toEqual(tx);
    entries.granted(row, tx);
    expect(entries.txOf(row)).toBe(tx);
    expect(entries.txJson(tx)).toBe(JSON.stringify(tx));
    const sold = entries.txOf({ ...row, status: 'purchased' });
    expect(sold).not.toBe(tx);
    expect(sold).toEqual({ ...tx, Status: 'purchased' });
    expect(entries.txJson(sold)).toBe(JSON.stringify(sold));
    entries.ended(row.transactionId);
    expect(entries.txOf(row)).not.toBe(tx);
    expect(entries.txOf(row)).toEqual(tx);
  });

  it('finds an event’s Flavor text whatever its strings and changes hold', () => {
    // Strings and change values that look like the members around the Flavor.
    const tricky = fc.oneof(
      fc.string(),
      fc.constantFrom(',"Flavor":{}', '"}', ',"ModificationDetails":[]}', '\\"', '}'),
    );
    fc.assert(
      fc.property(
        tricky,
        fc.array(
          fc.record({
            FieldModified: tricky,
            OldValue: fc.jsonValue(),
            NewValue: fc.oneof(fc.jsonValue(), fc.record({ Flavor: tricky })),
          }),
          { maxLength: 3 },
        ),
        fc.constantFrom('added', 'refreshed', 'withdrawn'),
        (domain, changes, kind) => {
          const prev = makeEntry(flavor('f"x', 2), true, 60);
          const next = makeEntry(flavor('f"x', 3, domain), true, 60);
          const draft: EventDraft =
            kind === 'added'
              ? { kind, flavor: next }
              : kind === 'refreshed'
                ? { kind, flavor: next, prev, changes }
                : { kind, flavor: next, reason: { Code: 'sold', Message: domain } };
          const { wire } = record(11, draft);
          const msg = JSON.parse(wire) as { Flavor: Flavor; ModificationDetails?: unknown };
          expect(carriesFlavor(wire, next.json)).toBe(true);
          expect(carriesFlavor(wire, prev.json)).toBe(false);
          // Added and refreshed events only: a withdrawal's Reason follows its Flavor.
          if (kind !== 'withdrawn')
            expect(flavorJsonIn(wire, msg)).toBe(JSON.stringify(msg.Flavor));
        },
      ),
    );
  });
});
