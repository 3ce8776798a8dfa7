import { sql } from "drizzle-orm";
import type { Db } from "./client";

export interface Migration {
  tag: string;
  /** drizzle-kit journal `when`; also what drizzle's own migrator stores as created_at. */
  createdAt: number;
  /** SHA-256 of the SQL file, as drizzle-kit's migrator records it. */
  hash: string;
  statements: string[];
}

// Same bookkeeping table and columns as drizzle-orm's migrator, so `drizzle-kit migrate` and this
// runner agree about what has been applied.
const CREATE_TABLE = sql.raw(
  "CREATE TABLE IF NOT EXISTS `__drizzle_migrations` (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)",
);

async function lastApplied(db: Db): Promise<number> {
  const rows = await db.all<{ created_at: number | string | null }>(
    sql.raw("SELECT created_at FROM `__drizzle_migrations` ORDER BY created_at DESC LIMIT 1"),
  );
  const v = rows[0]?.created_at;
  return v == null ? 0 : Number(v);
}

/**
 * Migrations not yet applied (empty when the schema is current). Read-only, so readiness probes and
 * `migrate --dry-run` never write: a database without the bookkeeping table has everything pending.
 */
export async function pendingMigrations(db: Db, migrations: Migration[]): Promise<Migration[]> {
  const table = await db.all(
    sql.raw("SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'"),
  );
  const last = table.length ? await lastApplied(db) : 0;
  return migrations.filter((m) => m.createdAt > last);
}

/**
 * Applies pending migrations in order, each in one atomic batch together with its bookkeeping row.
 * When two instances start at once, the loser's batch fails and rolls back; it then finds nothing
 * pending and carries on.
 */
export async function migrate(db: Db, migrations: Migration[]): Promise<{ applied: string[] }> {
  const applied: string[] = [];
  await db.run(CREATE_TABLE);
  for (const m of await pendingMigrations(db, migrations)) {
    const statements = [
      ...m.statements.map((s) => db.run(sql.raw(s))),
      db.run(sql`INSERT INTO \`__drizzle_migrations\` (hash, created_at) VALUES (${m.hash}, ${m.createdAt})`),
    ];
    try {
      await db.batch(statements as [(typeof statements)[number], ...typeof statements]);
      applied.push(m.tag);
    } catch (err) {
      if ((await lastApplied(db)) >= m.createdAt) continue; // another instance applied it
      throw new Error(`migration ${m.tag} failed: ${(err as Error).message}`, { cause: err });
    }
  }
  return { applied };
}
