/**
 * How the SQLite store reads what a restart needs: one snapshot of the history's range, the
 * open holds and every live flavor, the flavors a chunk of rows at a time. (The retained
 * events stay in the store until a resume reads them: store.ts.)
 *
 * The writer thread reads the snapshot (`readSnapshot`) and hands each chunk over as it is
 * read; the event loop cuts it into flavors (`cutFlavors`) and rebuilds the catalog from them
 * meanwhile, so reading the next chunk and parsing this one overlap. The chunk crosses as
 * bytes in a transferred buffer (no copy); reading it as text on the event loop cost about
 * twice what decoding the bytes there does.
 *
 * A chunk is one statement answering two blobs: its rows' heads (the columns, the summary and
 * the JSON's length in bytes) joined by SQLite, and the rows' JSON texts end to end, in the
 * same order (both aggregates step over the same rows). Reading the columns and the texts in
 * two statements read every row twice (the large texts' pages included). Only the heads are
 * decoded: each flavor's JSON stays bytes in the chunk (the catalog decodes one when asked
 * for its text, and LIST answers with the bytes), so a restart no longer decodes 55 MB of
 * flavors, and holds no string per flavor for it. A chunk stays in memory until the last
 * flavor read from it is dropped: no more than the texts loaded, and each goes when its
 * flavor changes.
 *
 * The heads' separators are control characters. JSON text (a summary) never holds them
 * unescaped, numbers never do, and the ids (free text) are written with json_quote, which
 * escapes them; the JSON's length comes last in its row, so a row is cut at its separators.
 */
import { isAscii } from 'node:buffer';
import type Database from 'better-sqlite3';
import type { Row } from './rows.js';
import type { LoadedFlavor } from './store.js';

/** Rows per chunk: its joined texts (~1 MB) are well past V8's large-object threshold. */
const CHUNK = 2000;
const ROWS = '\u001e';
const COL = '\u001f';

export interface LoadStatements {
  flavors: Database.Statement;
  lastSeq: Database.Statement;
  firstSeq: Database.Statement;
  epoch: Database.Statement;
  openTransactions: Database.Statement;
}

/** What a snapshot holds besides the flavors (plain data: it crosses from the writer thread). */
export interface SnapshotHead {
  lastSeq: number;
  /** The oldest retained event's seq, lastSeq + 1 when none is. */
  firstSeq: number;
  epoch: string;
  /** Rows of the transactions still reserved. */
  openTransactions: Row[];
}

/** `a || char(31) || b || …`: one row's columns as one text. */
const joined = (cols: string[]): string => cols.join(' || char(31) || ');

export function prepareLoad(db: Database.Database): LoadStatements {
  // status = 'live' AND rowid > ?: one range of the flavors_status index, in rowid order.
  const live = `FROM flavors WHERE status = 'live' AND rowid > ? ORDER BY rowid LIMIT ${CHUNK}`;
  const flavorRow = joined([
    'expires_at',
    'auto_renew',
    'ttl_seconds',
    'json_quote(flavor_id)',
    'json_quote(provider_id)',
    "ifnull(summary, '')",
    'octet_length(json)',
  ]);
  return {
    // The chunk's largest key, whatever order SQLite joins its rows in: the next starts after it.
    flavors: db
      .prepare(
        `SELECT max(k), CAST(group_concat(${flavorRow}, char(30)) AS BLOB),
           CAST(group_concat(json, '') AS BLOB) FROM (SELECT rowid AS k, * ${live})`,
      )
      .raw(),
    lastSeq: db.prepare(`SELECT value FROM meta WHERE key = 'last_seq'`).pluck(),
    // min() alone on the rowid: one step down the table's tree, not a scan.
    firstSeq: db.prepare(`SELECT min(seq) FROM events`).pluck(),
    epoch: db.prepare(`SELECT value FROM meta_text WHERE key = 'epoch'`).pluck(),
    openTransactions: db.prepare(`SELECT * FROM transactions WHERE status = 'reserved'`),
  };
}

/**
 * Reads one snapshot: hands over each chunk of live flavors as it is read (its bytes, and
 * whether they are all ASCII), and returns the rest.
 */
export function readSnapshot(
  db: Database.Database,
  s: LoadStatements,
  chunk: (heads: Buffer, ascii: boolean, jsons: Buffer) => void,
): SnapshotHead {
  return db.transaction((): SnapshotHead => {
    const lastSeq = Number(s.lastSeq.get());
    const first = s.firstSeq.get() as number | bigint | null;
    for (let after = 0; ;) {
      const [key, heads, jsons] = s.flavors.get(after) as [number | null, Buffer | null, Buffer];
      if (key === null || heads === null) break;
      chunk(heads, isAscii(heads), jsons);
      after = Number(key);
    }
    return {
      lastSeq,
      firstSeq: first === null ? lastSeq + 1 : Number(first),
      epoch: s.epoch.get() as string,
      openTransactions: s.openTransactions.all() as Row[],
    };
  })();
}

/**
 * Cuts a chunk into its flavors and hands each to `each`, its JSON as a view of `jsons` (the
 * rows' JSON texts end to end, each as long as its row's last column says). An ASCII `heads`
 * is decoded as Latin-1: the same text, made by a plain copy.
 */
export function cutFlavors(
  heads: Buffer,
  ascii: boolean,
  jsons: Buffer,
  each: (flavor: LoadedFlavor) => void,
): void {
  const text = heads.toString(ascii ? 'latin1' : 'utf8');
  const cols: string[] = new Array<string>(6);
  // Flavors repeat a few providers: one string each, not one per flavor kept by the catalog.
  const providers = new Map<string, string>();
  let from = 0;
  for (let start = 0; start < text.length;) {
    let end = text.indexOf(ROWS, start);
    if (end === -1) end = text.length;
    let at = start;
    for (let i = 0; i < 6; i++) {
      const cut = text.indexOf(COL, at);
      if (cut === -1 || cut > end) throw new Error(`store row at ${from} is malformed`);
      cols[i] = text.slice(at, cut);
      at = cut + 1;
    }
    const to = from + Number(text.slice(at, end));
    if (!(to <= jsons.length)) throw new Error(`store row ${cols[3] ?? ''} is malformed`);
    const flavor: LoadedFlavor = {
      flavorId: unquote(cols[3] as string),
      providerId: provider(providers, cols[4] as string),
      status: 'live',
      json: { chunk: jsons, from, to },
      expiresAt: Number(cols[0]),
      autoRenew: cols[1] === '1',
      ttlSeconds: Number(cols[2]),
    };
    if (cols[5] !== '') flavor.summary = cols[5];
    each(flavor);
    from = to;
    start = end + 1;
  }
}

/** A json_quote'd provider id, the same string for every row of a chunk that names it. */
function provider(seen: Map<string, string>, quoted: string): string {
  let id = seen.get(quoted);
  if (id === undefined) seen.set(quoted, (id = unquote(quoted)));
  return id;
}

/** A json_quote'd text: most ids need no unescaping. */
function unquote(quoted: string): string {
  return quoted.includes('\\') ? (JSON.parse(quoted) as string) : quoted.slice(1, -1);
}
