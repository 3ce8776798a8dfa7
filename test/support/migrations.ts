import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import type { Db } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import { migrations } from "../../src/db/migrations.generated";

/**
 * An in-memory database migrated up to, not including, migration `tag` (for tests of a migration on
 * the data it meets); `migrateRest()` then applies the others and says which ran.
 */
export async function databaseBefore(tag: string) {
  const client = createClient({ url: ":memory:" });
  const db = drizzle(client) as unknown as Db;
  const upTo = migrations.findIndex((m) => m.tag === tag);
  if (upTo <= 0) throw new Error(`no migration ${tag} after the first`);
  await migrate(db, migrations.slice(0, upTo));
  return { client, db, migrateRest: () => migrate(db, migrations) };
}
