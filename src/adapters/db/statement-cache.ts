/**
 * A prepared-statement cache for embedded libSQL (file and memory databases).
 *
 * `@libsql/client`'s local client prepares every statement afresh on each `execute` and asks the new
 * statement for its columns twice; profiling a GET /me showed that re-preparing and describing
 * took ~30% of the request's CPU time (bench/api.ts, bench/ingest.ts). Neither the client nor the
 * `libsql` binding under it offers a statement cache, and the client keeps its connections private,
 * so this wraps the binding's `Database.prototype.prepare`: each connection keeps its most recently
 * used statements by SQL text (LRU, `max` per connection), and a cached statement remembers its
 * column list, its integer mode and whether it returns rows. Drizzle sends the same SQL text for the same query shape
 * with values as bound arguments, so hot queries hit the cache.
 *
 * Reusing a statement is safe here because the client only ever runs a statement to completion
 * (`all` drains it, `run` finishes it): a finished statement holds no read snapshot or lock, binding
 * new arguments resets it, and SQLite re-prepares it by itself after a schema change. DDL sent
 * through a connection (migrations) also empties that connection's cache, so no remembered column
 * list outlives a schema change made here. Not used on the remote (sqld/Turso) client, which
 * prepares on the server, nor on D1.
 */
import Database from "libsql";

const CACHE = Symbol.for("teamtrack.statementCache");
const INSTALLED = Symbol.for("teamtrack.statementCache.installed");
const DDL = /^\s*(?:CREATE|ALTER|DROP)\b/i;

interface LibsqlStatement {
  columns(): unknown[];
  raw(on?: boolean): LibsqlStatement;
  safeIntegers(on?: boolean): LibsqlStatement;
}

interface PatchedPrototype {
  prepare(this: ConnectionWithCache, sql: string): LibsqlStatement;
  [INSTALLED]?: { max: number; hits: number; misses: number };
}

interface ConnectionWithCache {
  [CACHE]?: Map<string, LibsqlStatement>;
}

/** Hit/miss counters since installation (tests and diagnostics). */
export function statementCacheStats(): { max: number; hits: number; misses: number } | null {
  const proto = Database.prototype as unknown as PatchedPrototype;
  return proto[INSTALLED] ?? null;
}

/** How many statements a connection holds now (tests). */
export function cachedStatementCount(conn: object): number {
  return (conn as ConnectionWithCache)[CACHE]?.size ?? 0;
}

/**
 * Memoizes what a statement reports about itself: its columns never change for one SQL text (a
 * schema change re-prepares it with the same result shape or fails), and `raw()` throws for a
 * statement that returns no rows, every time.
 */
function memoize(stmt: LibsqlStatement): LibsqlStatement {
  const columns = stmt.columns.bind(stmt);
  const raw = stmt.raw.bind(stmt);
  const safeIntegers = stmt.safeIntegers.bind(stmt);
  let cols: unknown[] | undefined;
  let safeMode: boolean | undefined;
  let rawError: unknown;
  let rawMode: boolean | undefined;
  stmt.columns = () => {
    cols ??= columns();
    return cols;
  };
  stmt.safeIntegers = (on?: boolean) => {
    const want = on ?? true;
    if (safeMode !== want) {
      safeIntegers(want);
      safeMode = want;
    }
    return stmt;
  };
  stmt.raw = (on?: boolean) => {
    if (rawError !== undefined) throw rawError;
    const want = on ?? true;
    if (rawMode === want) return stmt;
    try {
      raw(want);
    } catch (err) {
      rawError = err;
      throw err;
    }
    rawMode = want;
    return stmt;
  };
  return stmt;
}

/** Installs the cache on every libSQL connection of this process (idempotent). */
export function installStatementCache(max = 256): void {
  const proto = Database.prototype as unknown as PatchedPrototype;
  if (proto[INSTALLED]) return;
  const prepare = proto.prepare;
  const stats = { max, hits: 0, misses: 0 };
  proto[INSTALLED] = stats;
  proto.prepare = function cachedPrepare(this: ConnectionWithCache, sql: string) {
    let cache = this[CACHE];
    if (!cache) {
      cache = new Map();
      this[CACHE] = cache;
    }
    // DDL on this connection (migrations) may change a cached statement's columns: start afresh.
    if (DDL.test(sql)) cache.clear();
    const hit = cache.get(sql);
    if (hit) {
      stats.hits++;
      // Least recently used first: move the hit to the end.
      cache.delete(sql);
      cache.set(sql, hit);
      return hit;
    }
    stats.misses++;
    const stmt = memoize(prepare.call(this, sql));
    if (cache.size >= max) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(sql, stmt);
    return stmt;
  };
}
