// Types only from @libsql/client: the Node client (libsql.ts) and the web client (Workers) share this.
import type { Client, InStatement } from "@libsql/client";
import { type QueryObserver, sqlOperation } from "../../telemetry/db";

export function stmtSql(s: InStatement): string {
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
