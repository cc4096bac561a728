/**
 * Domain events: what changed in the market, in the order it happened. Each carries the
 * global `seq` it was stored under and its wire form, serialized once when it is made, so
 * fan-out sends the same bytes to every recipient and the store keeps the same text.
 *
 * An event keeps only what fan-out and resumes read: its wire text and the facts selectors
 * test. Not the flavor objects: the history holds up to 100,000 events, and a refresh that
 * kept the flavor before it alive took ~3 KB of heap per event under a stream of sales.
 */
import { toRfc3339 } from '../clock.js';
import type { StoredEvent, UnnumberedEvent } from '../store/store.js';
import type { Flavor, ModificationDetail, ServerMessage, WithdrawReason } from '../types/wire.js';
import type { FlavorEntry } from './flavor-entry.js';
import { factsOf, type FlavorFacts } from './flavor-facts.js';
import { jsonId } from './ids.js';

interface Base {
  readonly seq: number;
  /** ms since epoch. */
  readonly at: number;
  readonly flavorId: string;
  /** The ServerMessage JSON sent to subscribers. */
  readonly wire: string;
}

export interface FlavorAdded extends Base {
  readonly kind: 'added';
  readonly facts: FlavorFacts;
}

export interface FlavorRefreshed extends Base {
  readonly kind: 'refreshed';
  readonly facts: FlavorFacts;
  /** The flavor's facts before the change: a selector that matched it hears of the change too. */
  readonly prevFacts: FlavorFacts;
}

export interface FlavorWithdrawn extends Base {
  readonly kind: 'withdrawn';
  /** The facts of the flavor as it was last offered. */
  readonly facts: FlavorFacts;
}

export interface ReservationConfirmed extends Base {
  readonly kind: 'confirmed';
  readonly contractId: string;
  readonly transactionId: string;
  /** NodeID of the buyer: only its sockets hear of it. */
  readonly buyerId: string;
}

export type DomainEvent = FlavorAdded | FlavorRefreshed | FlavorWithdrawn | ReservationConfirmed;

/** An event before the journal gives it a seq and a time. */
export type EventDraft =
  | { kind: 'added'; flavor: FlavorEntry }
  | { kind: 'refreshed'; flavor: FlavorEntry; prev: FlavorEntry; changes: ModificationDetail[] }
  | { kind: 'withdrawn'; flavor: FlavorEntry; reason: WithdrawReason }
  | {
      kind: 'confirmed';
      flavorId: string;
      contractId: string;
      transactionId: string;
      buyerId: string;
    };

/**
 * A draft's wire form and the store's fields, before its seq is known: the wire is
 * `${before}${seq}${after}`. A shared store numbers events as it writes them (under its seq
 * counter, in the same statement), so it gets them in this form; `stamp` joins the same pieces.
 */
export function unnumbered(draft: EventDraft, at: number): UnnumberedEvent & { after: string } {
  // The RFC 3339 text has nothing JSON escapes.
  const tail = `,"at":"${toRfc3339(at)}"`;
  /** A flavor's event: its type, the flavor, then what the type adds. */
  const ofFlavor = (type: string, entry: FlavorEntry, more = '') => {
    const flavorId = entry.flavorId;
    return {
      at,
      flavorId,
      before: `{"type":"${type}","seq":`,
      after: `${tail},"flavorId":${jsonId(flavorId)},"Flavor":${entry.json}${more}}`,
    };
  };
  switch (draft.kind) {
    case 'added':
      return ofFlavor('FLAVOR_ADDED', draft.flavor);
    case 'refreshed':
      return ofFlavor(
        'REFRESH_FLAVOR',
        draft.flavor,
        `,"ModificationDetails":${JSON.stringify(draft.changes)}`,
      );
    case 'withdrawn':
      return ofFlavor('WITHDRAW_FLAVOR', draft.flavor, `,"Reason":${JSON.stringify(draft.reason)}`);
    case 'confirmed': {
      const { flavorId, contractId, transactionId, buyerId } = draft;
      return {
        at,
        flavorId,
        buyerId,
        before: '{"type":"CONFIRM_RESERVATION","seq":',
        after:
          `${tail},"ContractID":${jsonId(contractId)},` +
          `"TransactionID":${jsonId(transactionId)},"FlavorID":${jsonId(flavorId)}}`,
      };
    }
  }
}

/**
 * Gives a draft its seq and time and serializes its wire form once; returns the event and
 * the record the store keeps of it. A refresh's record no longer keeps the flavor before it:
 * its ModificationDetails rebuild what selectors read of it (flavorBefore).
 */
export function stamp(
  draft: EventDraft,
  seq: number,
  at: number,
): { event: DomainEvent; record: StoredEvent } {
  const parts = unnumbered(draft, at);
  const { flavorId } = parts;
  const wire = flat(parts.before, String(seq), parts.after);
  const record: StoredEvent = { seq, at, flavorId, wire };
  switch (draft.kind) {
    case 'added':
    case 'withdrawn':
      return {
        event: { kind: draft.kind, seq, at, flavorId, wire, facts: draft.flavor.facts },
        record,
      };
    case 'refreshed': {
      const facts = draft.flavor.facts;
      const prevFacts = draft.prev.facts;
      return { event: { kind: 'refreshed', seq, at, flavorId, wire, facts, prevFacts }, record };
    }
    case 'confirmed': {
      const { contractId, transactionId, buyerId } = draft;
      record.buyerId = buyerId;
      return {
        event: { kind: 'confirmed', seq, at, flavorId, wire, contractId, transactionId, buyerId },
        record,
      };
    }
  }
}

/**
 * The pieces joined as one flat string. `+` and template literals make a tree of the pieces
 * (a cons string) that keeps each of them alive until something flattens it; the history
 * keeps up to 100,000 wire texts, and as trees they took ~0.6 KB more each (a full history's
 * heap 223 → 164 MiB once flat, docs/benchmarks.md).
 */
function flat(a: string, b: string, c: string): string {
  return [a, b, c].join('');
}

/**
 * One ModificationDetails entry per changed leaf field, named by its dotted path
 * ("price.amount", "type.data.characteristics.cpu"); arrays compare as a whole.
 */
export function diffFields(
  before: unknown,
  after: unknown,
  path = '',
  out: ModificationDetail[] = [],
): ModificationDetail[] {
  // A change shares its untouched parts with the flavor before it: skip them whole.
  if (before === after) return out;
  if (isPlainObject(before) && isPlainObject(after)) {
    for (const k of Object.keys(before)) diffFields(before[k], after[k], join(path, k), out);
    for (const k of Object.keys(after)) {
      if (!Object.hasOwn(before, k)) diffFields(undefined, after[k], join(path, k), out);
    }
    return out;
  }
  if (
    typeof before === 'object' &&
    typeof after === 'object' &&
    JSON.stringify(before) === JSON.stringify(after)
  ) {
    return out;
  }
  out.push({ FieldModified: path, OldValue: before ?? null, NewValue: after ?? null });
  return out;
}

const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A flavor event rebuilt from the store. Its selector facts are worked out on first use, not
 * here: a restart loads up to 100,000 events, and only a selector resuming through them reads
 * their facts. A class, so that each event is one small object (the getters live on its
 * prototype; closures per event made the history a large part of a restart's garbage).
 */
class StoredFlavorEvent {
  private factsMemo: FlavorFacts | undefined;
  private prevFactsMemo: FlavorFacts | undefined;

  constructor(
    readonly kind: 'added' | 'refreshed' | 'withdrawn',
    readonly seq: number,
    readonly at: number,
    readonly flavorId: string,
    readonly wire: string,
    /** For a refresh: the Flavor JSON before it. */
    private readonly prev: string | undefined,
  ) {}

  get facts(): FlavorFacts {
    return (this.factsMemo ??= factsOf((JSON.parse(this.wire) as { Flavor: Flavor }).Flavor));
  }

  /**
   * Read for a refresh only (the others' types have none): from the stored flavor before it
   * when the record kept one, else rebuilt from the event itself (flavorBefore).
   */
  get prevFacts(): FlavorFacts {
    if (this.prevFactsMemo) return this.prevFactsMemo;
    if (this.prev) return (this.prevFactsMemo = factsOf(JSON.parse(this.prev) as Flavor));
    if (this.kind !== 'refreshed') return this.facts;
    const msg = JSON.parse(this.wire) as {
      Flavor: Flavor;
      ModificationDetails: ModificationDetail[];
    };
    return (this.prevFactsMemo = factsOf(flavorBefore(msg.Flavor, msg.ModificationDetails)));
  }
}

/**
 * The flavor a REFRESH_FLAVOR changed, rebuilt from the flavor after it and its
 * ModificationDetails (diffFields: one entry per changed leaf, arrays whole, an absent value
 * as null). Mutates and returns `after`. A key holding a dot (possible only inside a service's
 * ConfigurationTemplate, which no selector reads) is split as a path: what selectors read is
 * rebuilt exactly.
 */
export function flavorBefore(after: Flavor, changes: readonly ModificationDetail[]): Flavor {
  for (const c of changes) {
    const keys = c.FieldModified.split('.');
    const last = keys.pop() as string;
    let node = after as unknown as Record<string, unknown>;
    for (const k of keys) {
      const next = node[k];
      node = (isPlainObject(next) ? next : (node[k] = {})) as Record<string, unknown>;
    }
    if (c.OldValue === null) delete node[last];
    else node[last] = c.OldValue;
  }
  return after;
}

/**
 * What the history keeps of a flavor event once it is published: its wire text, with the
 * facts worked out again from it if a resuming selector asks. The live event holds the facts
 * of the flavor and of the one before it; kept for 100,000 events under a stream of sales
 * they were a third of the heap and much of the collector's work (docs/benchmarks.md).
 */
export function retained(event: DomainEvent): DomainEvent {
  if (event.kind === 'confirmed' || event instanceof StoredFlavorEvent) return event;
  return new StoredFlavorEvent(
    event.kind,
    event.seq,
    event.at,
    event.flavorId,
    event.wire,
    undefined,
  ) as FlavorAdded | FlavorRefreshed | FlavorWithdrawn;
}

/** A stored flavor event's kind, read from its wire text; undefined for a confirmation. */
export function flavorKindOf(wire: string): 'added' | 'refreshed' | 'withdrawn' | undefined {
  // stamp() writes every wire text with its type first.
  return wire.startsWith('{"type":"FLAVOR_ADDED"')
    ? 'added'
    : wire.startsWith('{"type":"REFRESH_FLAVOR"')
      ? 'refreshed'
      : wire.startsWith('{"type":"WITHDRAW_FLAVOR"')
        ? 'withdrawn'
        : undefined;
}

const FLAVOR_KEY = ',"Flavor":';

/**
 * Where an added or refreshed event's Flavor starts in its wire text. unnumbered() writes the
 * type, seq, time and flavorId before it — strings and a number, in which a quote is always
 * escaped — so the first `,"Flavor":` is the member's own key.
 */
function flavorAt(wire: string): number {
  const at = wire.indexOf(FLAVOR_KEY);
  return at < 0 ? -1 : at + FLAVOR_KEY.length;
}

/** Whether the Flavor of an added or refreshed event's wire is exactly the text `json`. */
export function carriesFlavor(wire: string, json: string): boolean {
  const at = flavorAt(wire);
  if (at < 0 || !wire.startsWith(json, at)) return false;
  // A complete JSON object ends where it ends: the member after it, or the message's end.
  const next = wire.charCodeAt(at + json.length);
  return next === 0x7d || next === 0x2c; // } or ,
}

/**
 * The text of an added or refreshed event's Flavor inside its wire, given the parsed message:
 * unnumbered() writes the flavor's JSON as-is, followed only by the type's ModificationDetails.
 * The catalog copy keeps these bytes rather than serializing the parsed flavor again.
 * Undefined when the wire is not in that form.
 */
export function flavorJsonIn(
  wire: string,
  msg: { ModificationDetails?: unknown },
): string | undefined {
  const at = flavorAt(wire);
  if (at < 0) return undefined;
  const tail =
    msg.ModificationDetails === undefined
      ? '}'
      : `,"ModificationDetails":${JSON.stringify(msg.ModificationDetails)}}`;
  return wire.endsWith(tail) ? wire.slice(at, wire.length - tail.length) : undefined;
}

/** Rebuilds a retained event from the store (at start, or from a shared market's feed). */
export function fromRecord(r: StoredEvent): DomainEvent {
  const kind = flavorKindOf(r.wire);
  if (kind === undefined) {
    const msg = JSON.parse(r.wire) as ServerMessage;
    if (msg.type !== 'CONFIRM_RESERVATION')
      throw new Error(`stored event ${r.seq} has unknown type`);
    return {
      seq: r.seq,
      at: r.at,
      flavorId: r.flavorId,
      wire: r.wire,
      kind: 'confirmed',
      contractId: msg.ContractID,
      transactionId: msg.TransactionID,
      buyerId: r.buyerId ?? '',
    };
  }
  return new StoredFlavorEvent(kind, r.seq, r.at, r.flavorId, r.wire, r.prev) as
    FlavorAdded | FlavorRefreshed | FlavorWithdrawn;
}
