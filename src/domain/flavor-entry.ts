/**
 * A flavor as the hub holds it in memory: the wire object, its JSON serialized once per
 * change (LIST and every event reuse it), the facts selectors compare, and its schedule.
 * An entry rebuilt from the store at a restart keeps its JSON and facts but not the parsed
 * object, which is parsed again on first read (a sale, a refresh): holding 100,000 parsed
 * flavors was a third of what a restart allocated and the garbage collector had to copy. Its
 * facts come from the flavor's summary when the row has one (flavor-summary.ts), and its JSON
 * stays the bytes the store read until its text is asked for.
 */
import type { Flavor } from '../types/wire.js';
import type { JsonBytes, LoadedFlavor } from '../store/store.js';
import { factsOf, type FlavorFacts } from './flavor-facts.js';
import { fromSummary, summaryOf } from './flavor-summary.js';

export interface FlavorEntry {
  readonly flavor: Flavor;
  /** flavor.flavorId and flavor.availability, read without the parsed object. */
  readonly flavorId: string;
  readonly available: boolean;
  readonly json: string;
  readonly facts: FlavorFacts;
  /** expirationTime in ms. */
  readonly expiresAt: number;
  readonly autoRenew: boolean;
  readonly ttlSeconds: number;
  /** True while this is the catalog's version of the flavor; indexes skip entries that are not. */
  current: boolean;
  /**
   * The JSON as UTF-8 bytes, made on first listing and reused by every LIST after it (set
   * from the start, so every entry keeps one shape and LIST's reads of it stay monomorphic);
   * a loaded entry's are the bytes the store read, and its text is made from them.
   */
  bytes: Buffer | undefined;
}

/** The entry's JSON as bytes (memoized). */
export function bytesOf(e: FlavorEntry): Buffer {
  return (e.bytes ??= Buffer.from(e.json));
}

const OPEN = 0x5b; // [
const COMMA = 0x2c; // ,
const CLOSE = 0x5d; // ]

/**
 * A JSON array of entries: one buffer sized from the cached bytes, each copied in once.
 * Written by hand rather than with Buffer.concat, which copies the separators as parts of
 * their own (twice as many copies for a LIST of small flavors) and walks the list twice.
 */
export function jsonArrayBytes(entries: readonly FlavorEntry[]): Buffer {
  const n = entries.length;
  let size = n === 0 ? 2 : n + 1;
  for (let i = 0; i < n; i++) size += bytesOf(entries[i] as FlavorEntry).length;
  const out = Buffer.allocUnsafe(size);
  out[0] = OPEN;
  let at = 1;
  for (let i = 0; i < n; i++) {
    if (i > 0) out[at++] = COMMA;
    const bytes = (entries[i] as FlavorEntry).bytes as Buffer;
    out.set(bytes, at);
    at += bytes.length;
  }
  out[at] = CLOSE;
  return out;
}

class Entry implements FlavorEntry {
  current = false;
  private own: Buffer | undefined = undefined;

  constructor(
    private parsed: Flavor | undefined,
    /** The JSON as text; a loaded entry's is decoded from its bytes on first use. */
    private text: string | undefined,
    /**
     * A loaded entry's JSON as the store read it, `chunk` from `from` to `to`. Kept as the
     * chunk and two numbers rather than a view: a view (a typed array) per flavor was the
     * largest object a restart made for each, and most are never listed.
     */
    private readonly chunk: Buffer | undefined,
    private readonly from: number,
    private readonly to: number,
    readonly flavorId: string,
    readonly available: boolean,
    readonly facts: FlavorFacts,
    readonly expiresAt: number,
    readonly autoRenew: boolean,
    readonly ttlSeconds: number,
  ) {}

  get bytes(): Buffer | undefined {
    return (this.own ??= this.chunk?.subarray(this.from, this.to));
  }

  set bytes(b: Buffer | undefined) {
    this.own = b;
  }

  get json(): string {
    return (this.text ??= (this.chunk as Buffer).toString('utf8', this.from, this.to));
  }

  get flavor(): Flavor {
    return (this.parsed ??= JSON.parse(this.json) as Flavor);
  }
}

export function makeEntry(
  flavor: Flavor,
  autoRenew: boolean,
  ttlSeconds: number,
  facts: FlavorFacts = factsOf(flavor),
  /** The flavor's JSON when the caller already has it (as stored): not serialized again. */
  json: string = JSON.stringify(flavor),
): FlavorEntry {
  return new Entry(
    flavor,
    json,
    undefined,
    0,
    0,
    flavor.flavorId,
    flavor.availability,
    facts,
    Date.parse(flavor.expirationTime),
    autoRenew,
    ttlSeconds,
  );
}

/**
 * An entry from the flavor's stored JSON (text, or bytes as a store read them), keeping the
 * JSON and not the parsed object; and the summary of the flavor it parsed, for a row stored
 * without one.
 */
export function parsedEntry(
  json: string | JsonBytes,
  autoRenew: boolean,
  ttlSeconds: number,
): { entry: FlavorEntry; summary: string } {
  const text = typeof json === 'string' ? json : json.chunk.toString('utf8', json.from, json.to);
  const flavor = JSON.parse(text) as Flavor;
  const bytes = typeof json === 'string' ? undefined : json;
  const entry = new Entry(
    undefined,
    text,
    bytes?.chunk,
    bytes?.from ?? 0,
    bytes?.to ?? 0,
    flavor.flavorId,
    flavor.availability,
    factsOf(flavor),
    Date.parse(flavor.expirationTime),
    autoRenew,
    ttlSeconds,
  );
  return { entry, summary: summaryOf(flavor) };
}

/**
 * An entry from a loaded row and its summary (flavor-summary.ts), without reading the JSON:
 * the id and expiry are the row's own columns, written from the same flavor, and JSON kept as
 * bytes is decoded only when something asks for the text (LIST answers with the bytes).
 * Undefined when the row has no summary this version can read.
 */
export function summarizedEntry(row: LoadedFlavor): FlavorEntry | undefined {
  const s = row.summary === undefined ? undefined : fromSummary(row.summary, row.providerId);
  if (!s) return undefined;
  const json = row.json;
  const bytes = typeof json === 'string' ? undefined : json;
  return new Entry(
    undefined,
    typeof json === 'string' ? json : undefined,
    bytes?.chunk,
    bytes?.from ?? 0,
    bytes?.to ?? 0,
    row.flavorId,
    s.available,
    s.facts,
    row.expiresAt,
    row.autoRenew,
    row.ttlSeconds,
  );
}
