import { type Client, createClient, type InStatement, type Config as LibsqlConfig } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import type { Db, DbDialect } from "../../db/client";
import * as schema from "../../db/schema";
import { type QueryObserver, sqlOperation } from "../../telemetry/db";

function stmtSql(s: InStatement): string {
  return typeof s === "string" ? s : s.sql;
}

/**
 * Every statement drizzle sends goes through `execute` or `batch`; wrapping those two gives a span,
 * a duration and a slow-query log for each round trip without touching repo code.
 */
export function instrumentClient(client: Client, observe: QueryObserver): Client {
  const execute = client.execute.bind(client) as (s: InStatement) => ReturnType<Client["execute"]>;
  const batch = client.batch.bind(client);
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === "execute")
        return (stmt: InStatement, args?: unknown) => {
          const s = args === undefined ? stmt : ({ sql: stmt as string, args } as InStatement);
          return observe(sqlOperation(stmtSql(s)), stmtSql(s), () => execute(s));
        };
      if (prop === "batch")
        return (stmts: InStatement[], mode?: Parameters<Client["batch"]>[1]) =>
          observe("batch", stmts.map(stmtSql).join(";\n"), () => batch(stmts, mode));
      return Reflect.get(target, prop, receiver);
    },
  });
}

export function dialectOf(url: string): DbDialect {
  if (url === ":memory:" || url === "file::memory:") return "libsql-memory";
  if (url.startsWith("file:")) return "libsql-file";
  return "libsql-remote";
}

export interface LibsqlDb {
  db: Db;
  client: Client;
  dialect: DbDialect;
}

/** Opens a libSQL database (file, memory or server) with drizzle over it. */
export async function openLibsql(opts: {
  url: string;
  authToken?: string;
  observe?: QueryObserver;
}): Promise<LibsqlDb> {
  const dialect = dialectOf(opts.url);
  const cfg: LibsqlConfig = { url: opts.url === "file::memory:" ? ":memory:" : opts.url };
  if (opts.authToken) cfg.authToken = opts.authToken;
  const raw = createClient(cfg);
  if (dialect === "libsql-file") {
    // WAL lets readers run during a write; NORMAL sync is durable at WAL checkpoints and much faster.
    await raw.execute("PRAGMA journal_mode = WAL");
    await raw.execute("PRAGMA synchronous = NORMAL");
    await raw.execute("PRAGMA busy_timeout = 5000");
  }
  if (dialect !== "libsql-remote") await raw.execute("PRAGMA foreign_keys = ON");
  const client = opts.observe ? instrumentClient(raw, opts.observe) : raw;
  return { db: drizzle(client, { schema }) as Db, client: raw, dialect };
}
