import type { Db } from "./client";

/**
 * A drizzle prepared query built once per database handle. Building a query's SQL text from the
 * builder costs more than running a primary-key lookup (profiled on GET /me: drizzle's SQL assembly
 * was the largest share of the request after the statement cache), so the queries every request
 * runs (auth, ingest) are prepared once with `sql.placeholder` values and executed by name.
 * Keyed weakly by the handle: tests build many apps in one process.
 */
export function preparedQuery<Q>(build: (db: Db) => Q): (db: Db) => Q {
  const byDb = new WeakMap<Db, Q>();
  return (db) => {
    let q = byDb.get(db);
    if (q === undefined) {
      q = build(db);
      byDb.set(db, q);
    }
    return q;
  };
}
