/**
 * Named prepared statements for the PostgreSQL store. A statement sent with a name is parsed
 * and planned by the server once per connection; every later run only binds and executes it
 * (`pg` remembers which names a connection has prepared). The store's statements are few and
 * run per sale, so this is most of PostgreSQL's own CPU saved per request: in an alternated
 * A/B of P9's two instances, 22 % less of it and 13 % more sales (docs/benchmarks.md).
 *
 * A prepared plan must keep its result's shape: PostgreSQL refuses to run one whose columns
 * changed under it ("cached plan must not change result type"). So the statements name their
 * columns instead of `SELECT *` — a newer instance that adds a column during a rolling upgrade
 * leaves the older instances' statements valid.
 */
import type pg from 'pg';

/** Each statement's name, by its text: the same text always has the same name. */
const names = new Map<string, string>();

export function prepared<R extends pg.QueryResultRow>(
  c: pg.ClientBase,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  let name = names.get(text);
  if (name === undefined) {
    name = `rear_${names.size + 1}`;
    names.set(text, name);
  }
  return c.query<R>({ name, text, values });
}
