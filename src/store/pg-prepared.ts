/**
 * Named prepared statements for the PostgreSQL store, sent one at a time or pipelined.
 *
 * A statement sent with a name is parsed and planned by the server once per connection; every
 * later run only binds and executes it (`pg` remembers which names a connection has prepared).
 * The store's statements are few and run per sale, so this is most of PostgreSQL's own CPU
 * saved per request: in an alternated A/B of P9's two instances, 22 % less of it and 13 % more
 * sales (docs/benchmarks.md).
 *
 * A prepared plan must keep its result's shape: PostgreSQL refuses to run one whose columns
 * changed under it ("cached plan must not change result type"). So the statements name their
 * columns instead of `SELECT *` — a newer instance that adds a column during a rolling upgrade
 * leaves the older instances' statements valid.
 *
 * `pipelined` sends several statements in one write and waits once: each is bound and
 * executed in order by the server (each with its own snapshot, as when sent one by one), and
 * one Sync ends them, so the first error skips the rest. `pg` has no pipeline API; this uses
 * its Query's own parse, bind and describe and only holds back the Sync between statements
 * (`_getRows`), an internal of pg 8 (the lock file pins it; the PostgreSQL tests run every
 * sale through it).
 */
import pg from 'pg';

/** Each statement's name, by its text: the same text always has the same name. */
const names = new Map<string, string>();

function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `rear_${names.size + 1}`;
    names.set(text, name);
  }
  return name;
}

export function prepared<R extends pg.QueryResultRow>(
  c: pg.ClientBase,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  return c.query<R>({ name: nameOf(text), text, values });
}

export interface Step {
  text: string;
  values?: unknown[];
}

/** The parts of pg's Query (and its connection) a pipeline drives. */
interface QueryInternals {
  name: string;
  text: string;
  values: unknown[] | undefined;
  portal: string;
  prepare(connection: unknown): void;
  _getRows(connection: unknown, rows: number | undefined): void;
  handleError(err: Error, connection: unknown): void;
}
type Connection = {
  parsedStatements: Record<string, string>;
  execute(config: { portal: string; rows: number | undefined }): void;
  sync(): void;
};
type Results = pg.QueryResult | pg.QueryResult[];
const QueryBase = pg.Query as unknown as new (
  config: { name: string; text: string; values?: unknown[] },
  callback: (err: Error | undefined, results: Results) => void,
) => QueryInternals & pg.Submittable;

class Pipeline extends QueryBase {
  private holdingSync = false;
  private failed = false;

  constructor(
    private readonly steps: Array<{ name: string; text: string; values?: unknown[] }>,
    callback: (err: Error | undefined, results: Results) => void,
  ) {
    super(steps[0] as { name: string; text: string; values?: unknown[] }, callback);
  }

  override prepare(connection: unknown): void {
    this.holdingSync = true;
    for (const step of this.steps) {
      this.name = step.name;
      this.text = step.text;
      this.values = step.values;
      super.prepare(connection);
      // A value pg could not send fails the query at once and pg has sent the Sync itself: the
      // statements after it are not sent (the caller rolls back what ran before it).
      if (this.failed) return;
    }
    this.holdingSync = false;
    (connection as Connection).sync();
    // The client reads the query's name on an error: the first statement's, as sent.
    const first = this.steps[0] as { name: string; text: string };
    this.name = first.name;
    this.text = first.text;
  }

  override handleError(err: Error, connection: unknown): void {
    // Failing while being sent (a value pg could not send), the statement was closed by pg on
    // the server (Close) but is still marked prepared: forget it, so its next use prepares it.
    if (this.holdingSync) delete (connection as Connection).parsedStatements[this.name];
    this.failed = true;
    super.handleError(err, connection);
  }

  override _getRows(connection: unknown, rows: number | undefined): void {
    if (this.holdingSync) (connection as Connection).execute({ portal: this.portal, rows });
    else super._getRows(connection, rows);
  }
}

/**
 * Runs the statements in order in one round trip; resolves with each one's result. A statement
 * the connection has not prepared yet makes this run them one by one instead (preparing them),
 * so a pipeline never carries a Parse: a Parse skipped after an error would leave `pg`
 * believing a statement exists that the server never made.
 */
export function pipelined(c: pg.ClientBase, steps: Step[]): Promise<pg.QueryResult[]> {
  const named = steps.map((s) => ({ name: nameOf(s.text), text: s.text, values: s.values ?? [] }));
  const parsed = (c as unknown as { connection: Connection }).connection.parsedStatements;
  if (named.some((s) => parsed[s.name] === undefined)) return oneByOne(c, named);
  return new Promise((resolve, reject) => {
    c.query(
      new Pipeline(named, (err, results) => {
        if (err) reject(err);
        else resolve(Array.isArray(results) ? results : [results]);
      }),
    );
  });
}

async function oneByOne(
  c: pg.ClientBase,
  steps: Array<{ name: string; text: string; values: unknown[] }>,
): Promise<pg.QueryResult[]> {
  const results: pg.QueryResult[] = [];
  for (const s of steps) results.push(await c.query(s));
  return results;
}
