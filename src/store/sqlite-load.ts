/**
 * How the SQLite store reads what a restart needs: every live flavor, a chunk of rows at a
 * time. (The retained events stay in the store until a resume reads them: store.ts.)
 *
 * A chunk is one statement answering one string: its rows joined by SQLite, each row its
 * columns joined, split here. Reading the columns and the texts in two statements read every
 * row twice (the large texts' pages included), about a third of the store's part of a
 * restart. A string that large (~1 MB) is allocated outside V8's young generation and the
 * texts cut from it are views of it, so the garbage collector never copies them while the
 * catalog is rebuilt (read row by row, copying them was about a third of a restart). A chunk
 * stays in memory until the last text cut from it is dropped: no more than the texts loaded,
 * and each goes when its flavor changes or its event leaves the history.
 *
 * The separators are control characters. JSON text never holds them unescaped, numbers
 * never do, and the ids (free text) are written with json_quote, which escapes them; the
 * large text comes last in its row, so a row is cut at its first separators only.
 */
import type Database from 'better-sqlite3';
import type { StoredFlavor } from './store.js';

/** Rows per chunk: its joined texts (~1 MB) are well past V8's large-object threshold. */
const CHUNK = 2000;
const ROWS = '\u001e';
const COL = '\u001f';

export interface LoadStatements {
  flavors: Database.Statement;
}

/** `a || char(31) || b || …`: one row's columns as one text. */
const joined = (cols: string[]): string => cols.join(' || char(31) || ');

export function prepareLoad(db: Database.Database): LoadStatements {
  // status = 'live' AND rowid > ?: one range of the flavors_status index, in rowid order.
  const live = `FROM flavors WHERE status = 'live' AND rowid > ? ORDER BY rowid LIMIT ${CHUNK}`;
  // json_quote(NULL) is 'null'; a missing prev is an empty text (a JSON text never is).
  const flavorRow = joined([
    'k',
    'expires_at',
    'auto_renew',
    'ttl_seconds',
    'json_quote(flavor_id)',
    'json_quote(provider_id)',
    'json',
  ]);
  return {
    flavors: db
      .prepare(`SELECT group_concat(${flavorRow}, char(30)) FROM (SELECT rowid AS k, * ${live})`)
      .pluck(),
  };
}

/** Live flavors, each as it is cut from its chunk; inside the read transaction of the snapshot. */
export function loadFlavors(s: LoadStatements, each: (flavor: StoredFlavor) => void): void {
  chunks(s.flavors, 6, (c, json) => {
    each({
      flavorId: unquote(c[4] as string),
      providerId: unquote(c[5] as string),
      status: 'live',
      json,
      expiresAt: Number(c[1]),
      autoRenew: c[2] === '1',
      ttlSeconds: Number(c[3]),
    });
  });
}

/**
 * Calls `row` with each row's first `n` columns (the first its key) and its last one (the
 * large text). `cols` is reused from row to row.
 */
function chunks(
  statement: Database.Statement,
  n: number,
  row: (cols: string[], text: string) => void,
): void {
  const cols: string[] = new Array<string>(n);
  for (let after = 0; ;) {
    const joinedRows = statement.get(after) as string | null;
    if (joinedRows === null) return;
    let key = after;
    for (let start = 0; start < joinedRows.length;) {
      let end = joinedRows.indexOf(ROWS, start);
      if (end === -1) end = joinedRows.length;
      let at = start;
      for (let i = 0; i < n; i++) {
        const cut = joinedRows.indexOf(COL, at);
        if (cut === -1 || cut > end) throw new Error(`store row after key ${after} is malformed`);
        cols[i] = joinedRows.slice(at, cut);
        at = cut + 1;
      }
      // The next chunk starts after this one's largest key, whatever order SQLite joined in.
      key = Math.max(key, Number(cols[0]));
      row(cols, joinedRows.slice(at, end));
      start = end + 1;
    }
    after = key;
  }
}

/** A json_quote'd text: most ids need no unescaping. */
function unquote(quoted: string): string {
  return quoted.includes('\\') ? (JSON.parse(quoted) as string) : quoted.slice(1, -1);
}
