import { is } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { SQLiteRaw } from "drizzle-orm/sqlite-core/query-builders/raw";
import type { Db } from "../../db/client";
import * as schema from "../../db/schema";
import { type QueryObserver, sqlOperation } from "../../telemetry/db";

/**
 * The parts of Cloudflare's D1 binding that drizzle uses. Declared here (structurally) because the
 * project does not depend on @cloudflare/workers-types; the real binding satisfies it.
 */
export interface D1PreparedStatementLike {
  bind(...values: unknown[]): D1PreparedStatementLike;
  first(column?: string): Promise<unknown>;
  run(): Promise<unknown>;
  all(): Promise<unknown>;
  raw(options?: { columnNames?: boolean }): Promise<unknown[]>;
}

export interface D1DatabaseLike {
  prepare(query: string): D1PreparedStatementLike;
  batch(statements: D1PreparedStatementLike[]): Promise<unknown[]>;
  exec(query: string): Promise<unknown>;
}

const EXECUTORS = new Set<PropertyKey>(["first", "run", "all", "raw"]);

/**
 * Wraps a D1 binding so every round trip (statement execution or batch) goes through the observer:
 * span, duration histogram and slow-query log, exactly as libSQL's `instrumentClient` does.
 *
 * drizzle prepares a statement once and binds it per execution, so the SQL text is captured at
 * `prepare()` and carried through `bind()`. The wrappers are proxies whose methods call the real
 * object with itself as `this` (workerd's statement class keeps internal state the proxy cannot
 * reach), and `batch()` hands D1 back the real statements, never the proxies.
 */
export function instrumentD1<T extends D1DatabaseLike>(binding: T, observe: QueryObserver): T {
  // proxy → the real statement and its SQL text, for batch().
  const unwrapped = new WeakMap<object, { stmt: D1PreparedStatementLike; sql: string }>();

  const wrap = (stmt: D1PreparedStatementLike, sql: string): D1PreparedStatementLike => {
    const proxy = new Proxy(stmt, {
      get(target, prop) {
        if (prop === "bind") return (...values: unknown[]) => wrap(target.bind(...values), sql);
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== "function") return value;
        const fn = value as (...args: unknown[]) => unknown;
        if (EXECUTORS.has(prop))
          return (...args: unknown[]) => observe(sqlOperation(sql), sql, async () => fn.apply(target, args));
        return fn.bind(target);
      },
    });
    unwrapped.set(proxy, { stmt, sql });
    return proxy;
  };

  return new Proxy(binding, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => wrap(target.prepare(query), query);
      if (prop === "batch")
        return (stmts: D1PreparedStatementLike[]) =>
          observe("batch", stmts.map((s) => unwrapped.get(s)?.sql ?? "?").join(";\n"), () =>
            target.batch(stmts.map((s) => unwrapped.get(s)?.stmt ?? s)),
          );
      if (prop === "exec")
        return (query: string) => observe(sqlOperation(query), query, () => target.exec(query));
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * drizzle over a D1 binding. D1's drizzle database exposes the same sqlite-core query builder and
 * `batch` as libSQL's, which is all repos use (D1 refuses interactive transactions), so it is
 * typed as the shared `Db`.
 *
 * One gap is closed here so `Db` means the same on both: drizzle's D1 `batch` crashes on a raw
 * `db.run(sql\`…${param}\`)` item ("reading 'bind'", drizzle-orm#2277) because a raw query has no
 * prepared statement; the migrator batches exactly such an insert. Giving those items a statement
 * before drizzle's batch sees them is enough.
 */
export function openD1(binding: D1DatabaseLike, observe?: QueryObserver): Db {
  const client = observe ? instrumentD1(binding, observe) : binding;
  const db = drizzle(client as never, { schema });
  const batch = db.batch.bind(db);
  db.batch = (queries) => {
    for (const q of queries as readonly unknown[]) {
      if (is(q, SQLiteRaw) && !("stmt" in q)) Object.assign(q, { stmt: client.prepare(q.getQuery().sql) });
    }
    return batch(queries);
  };
  return db as unknown as Db;
}
