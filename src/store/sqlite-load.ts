/**
 * How the SQLite store reads what a restart needs: every live flavor and every retained
 * event, in one read transaction (one snapshot), a chunk of rows at a time.
 *
 * The large texts (a flavor's JSON, an event's wire form: 100 MB for 100,000 of each) come as
 * one string per chunk, joined by SQLite and split here. A string that large is allocated
 * outside V8's young generation and the pieces split from it are views of it, so the garbage
 * collector no longer copies each text twice while the catalog is rebuilt (read row by row,
 * copying them was about a third of a restart). A chunk stays in memory until the last text
 * cut from it is dropped: no more than the texts loaded, and each goes when its flavor
 * changes or its event leaves the history.
 *
 * Each piece starts with its row's key, so pieces are matched to their rows by key, never by
 * position. The separators are control characters, which JSON text never holds unescaped.
 */
import type Database from 'better-sqlite3';
import type { StoredEvent, StoredFlavor } from './store.js';

/** Rows per chunk: its joined texts (~1 MB) are well past V8's large-object threshold. */
const CHUNK = 2000;
const ROWS = '\u001e';
const KEY = '\u001f';

export interface LoadStatements {
  flavors: Database.Statement;
  flavorTexts: Database.Statement;
  events: Database.Statement;
  eventTexts: Database.Statement;
}

export function prepareLoad(db: Database.Database): LoadStatements {
  // status = 'live' AND rowid > ?: one range of the flavors_status index, in rowid order.
  const live = `FROM flavors WHERE status = 'live' AND rowid > ? ORDER BY rowid LIMIT ${CHUNK}`;
  const retained = `FROM events WHERE seq > ? ORDER BY seq LIMIT ${CHUNK}`;
  return {
    flavors: db
      .prepare(`SELECT rowid, flavor_id, provider_id, expires_at, auto_renew, ttl_seconds ${live}`)
      .raw(),
    flavorTexts: db
      .prepare(
        `SELECT group_concat(k || char(31) || json, char(30)) FROM (SELECT rowid AS k, json ${live})`,
      )
      .pluck(),
    events: db.prepare(`SELECT seq, at, flavor_id, prev, buyer_id ${retained}`).raw(),
    eventTexts: db
      .prepare(
        `SELECT group_concat(seq || char(31) || wire, char(30)) FROM (SELECT seq, wire ${retained})`,
      )
      .pluck(),
  };
}

/** Live flavors and retained events (ascending seq), as of one snapshot. */
export function loadRows(
  db: Database.Database,
  s: LoadStatements,
): { flavors: StoredFlavor[]; events: StoredEvent[] } {
  return db.transaction(() => {
    const flavors: StoredFlavor[] = [];
    chunks(s.flavors, s.flavorTexts, (r, json) => {
      flavors.push({
        flavorId: r[1] as string,
        providerId: r[2] as string,
        status: 'live',
        json,
        expiresAt: Number(r[3]),
        autoRenew: r[4] === 1,
        ttlSeconds: Number(r[5]),
      });
    });
    const events: StoredEvent[] = [];
    chunks(s.events, s.eventTexts, (r, wire) => {
      const e: StoredEvent = {
        seq: Number(r[0]),
        at: Number(r[1]),
        flavorId: r[2] as string,
        wire,
      };
      if (r[3] !== null) e.prev = r[3] as string;
      if (r[4] !== null) e.buyerId = r[4] as string;
      events.push(e);
    });
    return { flavors, events };
  })();
}

/** Calls `row` with each row (its first column the key) and its text, in key order. */
function chunks(
  rows: Database.Statement,
  texts: Database.Statement,
  row: (r: unknown[], text: string) => void,
): void {
  for (let after = 0; ;) {
    const batch = rows.all(after) as unknown[][];
    if (batch.length === 0) return;
    const pieces = (texts.get(after) as string).split(ROWS);
    // SQLite joins in the order of the subquery; should it not, pieces are found by key.
    let byKey: Map<number, string> | undefined;
    for (const [i, r] of batch.entries()) {
      const key = Number(r[0]);
      let piece = pieces[i];
      if (piece === undefined || keyOf(piece) !== key) {
        byKey ??= new Map(pieces.map((p) => [keyOf(p), p]));
        piece = byKey.get(key);
        if (piece === undefined) throw new Error(`store row ${key} has no text`);
      }
      row(r, piece.slice(piece.indexOf(KEY) + 1));
    }
    after = Number((batch[batch.length - 1] as unknown[])[0]);
  }
}

function keyOf(piece: string): number {
  return Number(piece.slice(0, piece.indexOf(KEY)));
}
