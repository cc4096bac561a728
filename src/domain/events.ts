/**
 * Domain events: what changed in the market, in the order it happened. Each carries the
 * global `seq` it was stored under and its wire form, serialized once when it is made, so
 * fan-out sends the same bytes to every recipient and the store keeps the same text.
 */
import type { Flavor, ModificationDetail, ServerMessage, WithdrawReason } from '../types/wire.js';
import { makeEntry, type FlavorEntry } from './flavor-entry.js';

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
  readonly flavor: FlavorEntry;
}

export interface FlavorRefreshed extends Base {
  readonly kind: 'refreshed';
  readonly flavor: FlavorEntry;
  /** The flavor before the change: a selector that matched it hears of the change too. */
  readonly prev: FlavorEntry;
  readonly changes: readonly ModificationDetail[];
}

export interface FlavorWithdrawn extends Base {
  readonly kind: 'withdrawn';
  /** The flavor as it was last offered. */
  readonly flavor: FlavorEntry;
  readonly reason: WithdrawReason;
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

/** Gives a draft its seq and time, and serializes its wire form once. */
export function stamp(draft: EventDraft, seq: number, at: number): DomainEvent {
  const atText = JSON.stringify(new Date(at).toISOString());
  const head = `"seq":${seq},"at":${atText}`;
  switch (draft.kind) {
    case 'added': {
      const id = draft.flavor.flavor.flavorId;
      const wire = `{"type":"FLAVOR_ADDED",${head},"flavorId":${JSON.stringify(id)},"Flavor":${draft.flavor.json}}`;
      return { kind: 'added', seq, at, flavorId: id, wire, flavor: draft.flavor };
    }
    case 'refreshed': {
      const id = draft.flavor.flavor.flavorId;
      const wire =
        `{"type":"REFRESH_FLAVOR",${head},"flavorId":${JSON.stringify(id)},"Flavor":${draft.flavor.json},` +
        `"ModificationDetails":${JSON.stringify(draft.changes)}}`;
      return {
        kind: 'refreshed',
        seq,
        at,
        flavorId: id,
        wire,
        flavor: draft.flavor,
        prev: draft.prev,
        changes: draft.changes,
      };
    }
    case 'withdrawn': {
      const id = draft.flavor.flavor.flavorId;
      const wire =
        `{"type":"WITHDRAW_FLAVOR",${head},"flavorId":${JSON.stringify(id)},"Flavor":${draft.flavor.json},` +
        `"Reason":${JSON.stringify(draft.reason)}}`;
      return {
        kind: 'withdrawn',
        seq,
        at,
        flavorId: id,
        wire,
        flavor: draft.flavor,
        reason: draft.reason,
      };
    }
    case 'confirmed': {
      const wire =
        `{"type":"CONFIRM_RESERVATION",${head},"ContractID":${JSON.stringify(draft.contractId)},` +
        `"TransactionID":${JSON.stringify(draft.transactionId)},"FlavorID":${JSON.stringify(draft.flavorId)}}`;
      return {
        kind: 'confirmed',
        seq,
        at,
        flavorId: draft.flavorId,
        wire,
        contractId: draft.contractId,
        transactionId: draft.transactionId,
        buyerId: draft.buyerId,
      };
    }
  }
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

/** The stored form of an event (see Store). */
export interface EventRecord {
  seq: number;
  at: number;
  flavorId: string;
  wire: string;
  prev?: string;
  buyerId?: string;
}

export function toRecord(e: DomainEvent): EventRecord {
  const r: EventRecord = { seq: e.seq, at: e.at, flavorId: e.flavorId, wire: e.wire };
  if (e.kind === 'refreshed') r.prev = e.prev.json;
  if (e.kind === 'confirmed') r.buyerId = e.buyerId;
  return r;
}

/** Rebuilds a retained event from the store at start. */
export function fromRecord(r: EventRecord): DomainEvent {
  const msg = JSON.parse(r.wire) as ServerMessage;
  const base = { seq: r.seq, at: r.at, flavorId: r.flavorId, wire: r.wire };
  switch (msg.type) {
    case 'FLAVOR_ADDED':
      return { ...base, kind: 'added', flavor: makeEntry(msg.Flavor, false, 0) };
    case 'REFRESH_FLAVOR': {
      const prev = r.prev ? (JSON.parse(r.prev) as Flavor) : msg.Flavor;
      return {
        ...base,
        kind: 'refreshed',
        flavor: makeEntry(msg.Flavor, false, 0),
        prev: makeEntry(prev, false, 0),
        changes: msg.ModificationDetails,
      };
    }
    case 'WITHDRAW_FLAVOR':
      return {
        ...base,
        kind: 'withdrawn',
        flavor: makeEntry(msg.Flavor, false, 0),
        reason: msg.Reason,
      };
    case 'CONFIRM_RESERVATION':
      return {
        ...base,
        kind: 'confirmed',
        contractId: msg.ContractID,
        transactionId: msg.TransactionID,
        buyerId: r.buyerId ?? '',
      };
    default:
      throw new Error(`stored event ${r.seq} has unknown type`);
  }
}
