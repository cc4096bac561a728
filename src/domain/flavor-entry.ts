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
  /**
   * JSON.stringify({ ...flavor, type }): this flavor with another type, serialized by putting
   * that type's JSON in place of its own in the entry's JSON. A sale's flavors (the part sold,
   * the remainder) differ from the flavor only in their type, so the rest is not serialized
   * again.
   */
  withType(type: Flavor['type']): string;
}

/** An entry's JSON around the value of its top-level `type`. */
interface TypeSplit {
  readonly before: string;
  readonly after: string;
}

const TYPE_KEY = '"type":';

/**
 * Where the flavor's type sits in its JSON: the one place `"type":` is followed by the type's
 * own JSON. Null when that text is not found exactly once (a nested object holding a `type`
 * key with the same value, or JSON not written by JSON.stringify): then nothing is spliced.
 */
function splitAtType(json: string, type: Flavor['type']): TypeSplit | null {
  const typeJson = TYPE_KEY + JSON.stringify(type);
  const at = json.indexOf(typeJson);
  if (at < 0 || json.indexOf(typeJson, at + 1) >= 0) return null;
  return {
    before: json.slice(0, at + TYPE_KEY.length),
    after: json.slice(at + typeJson.length),
  };
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
  /**
   * Found on the first sale (undefined until then); a remainder's is its flavor's: slices of
   * the first sold version's JSON, which they keep alive (one flavor's JSON per flavor sold).
   */
  split: TypeSplit | null | undefined = undefined;

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

  withType(type: Flavor['type']): string {
    if (this.split === undefined) this.split = splitAtType(this.json, this.flavor.type);
    const s = this.split;
    return s ? s.before + JSON.stringify(type) + s.after : JSON.stringify({ ...this.flavor, type });
  }
}

/**
 * What stays on offer after a sale, as the flavor's next entry: `flavor` is the entry's with
 * another type (capacity.ts sale), so its JSON is spliced (withType) and the place of its type
 * carried over; its expiry and schedule are the entry's.
 */
export function remainderOf(entry: FlavorEntry, flavor: Flavor, facts: FlavorFacts): FlavorEntry {
  const next = madeEntry(
    flavor,
    entry.withType(flavor.type),
    facts,
    entry.expiresAt,
    entry.autoRenew,
    entry.ttlSeconds,
  );
  // Its JSON is the same two parts around its own type's.
  if (entry instanceof Entry) next.split = entry.split;
  return next;
}

/**
 * The same flavor with another schedule: its object, JSON, facts and the place of its type
 * shared with `entry` (none of them is ever changed in place), for a copy of an entry this
 * process already holds — the shared market's catalog copy and its rows under lock
 * (shared-entries.ts) hold the same flavors with different schedules.
 */
export function sameFlavor(
  entry: FlavorEntry,
  autoRenew: boolean,
  ttlSeconds: number,
): FlavorEntry {
  const next = madeEntry(
    entry.flavor,
    entry.json,
    entry.facts,
    entry.expiresAt,
    autoRenew,
    ttlSeconds,
  );
  if (entry instanceof Entry) next.split = entry.split;
  return next;
}

/** An entry of a flavor made in this process: its object and its JSON both at hand. */
function madeEntry(
  flavor: Flavor,
  json: string,
  facts: FlavorFacts,
  expiresAt: number,
  autoRenew: boolean,
  ttlSeconds: number,
): Entry {
  const { flavorId, availability } = flavor;
  return new Entry(
    flavor,
    json,
    undefined,
    0,
    0,
    flavorId,
    availability,
    facts,
    expiresAt,
    autoRenew,
    ttlSeconds,
  );
}

export function makeEntry(
  flavor: Flavor,
  autoRenew: boolean,
  ttlSeconds: number,
  facts: FlavorFacts = factsOf(flavor),
  /** The flavor's JSON when the caller already has it (as stored): not serialized again. */
  json: string = JSON.stringify(flavor),
): FlavorEntry {
  return madeEntry(flavor, json, facts, Date.parse(flavor.expirationTime), autoRenew, ttlSeconds);
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
