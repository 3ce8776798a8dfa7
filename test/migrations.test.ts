/**
 * Migrations cannot drift from the schema: the bundled module matches drizzle/, and drizzle-kit finds
 * nothing left to generate from src/db/schema. Either failure means: run `npm run db:generate`.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { renderMigrations, target } from "../scripts/gen-migrations";
import { migrations } from "../src/db/migrations.generated";
import { ROOT, stopAll, tempDir } from "./support/process";

afterAll(stopAll);

const DRIZZLE_KIT = join(ROOT, "node_modules/.bin/drizzle-kit");
const SCHEMA = join(ROOT, "src/db/schema/index.ts");

/** Every file under dir, relative to it, with its contents. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[relative(dir, path)] = readFileSync(path, "utf8");
  }
  return out;
}

/**
 * Runs `drizzle-kit generate` on a copy of drizzle/. The copy lives in a temp dir and drizzle-kit runs
 * there with relative paths, because drizzle-kit 0.31 prefixes `--out` with "./" (an absolute path
 * breaks) and exits 0 even when it fails, so the result is judged by its output and the files.
 */
async function generateInCopy(schema: string, env: Record<string, string> = {}) {
  const dir = tempDir("tt-drizzle-");
  cpSync(join(ROOT, "drizzle"), join(dir, "drizzle"), { recursive: true });
  const before = tree(join(dir, "drizzle"));
  const proc = Bun.spawn(
    [
      DRIZZLE_KIT,
      "generate",
      "--dialect",
      "sqlite",
      "--schema",
      relative(dir, schema),
      "--out",
      "drizzle",
      "--name",
      "probe",
    ],
    { cwd: dir, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" },
  );
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const after = tree(join(dir, "drizzle"));
  const added = Object.keys(after).filter((f) => !(f in before));
  const changed = Object.keys(before).filter((f) => after[f] !== before[f]);
  return { dir, code, output: stdout + stderr, added, changed };
}

describe("migrations", () => {
  test("src/db/migrations.generated.ts is current with drizzle/ (else: npm run db:generate)", () => {
    expect(readFileSync(target, "utf8")).toBe(renderMigrations());
  });

  test("drizzle-kit generate finds no schema change that lacks a migration", async () => {
    const r = await generateInCopy(SCHEMA);
    expect({ code: r.code, added: r.added, changed: r.changed }).toEqual({ code: 0, added: [], changed: [] });
    expect(r.output).toContain("No schema changes");
  });

  test("the check is not vacuous: a schema change does produce a new migration", async () => {
    const dir = tempDir("tt-drizzle-schema-");
    const schema = join(dir, "schema.ts");
    writeFileSync(
      schema,
      `export * from ${JSON.stringify(SCHEMA)};
import { sqliteTable, text } from "drizzle-orm/sqlite-core";
export const probeDrift = sqliteTable("probe_drift", { id: text("id").primaryKey() });
`,
    );
    // The probe schema sits outside the repo: let it resolve drizzle-orm from the repo's node_modules.
    const r = await generateInCopy(schema, { NODE_PATH: join(ROOT, "node_modules") });
    // The next migration number follows the journal, whatever it holds today.
    const next = String(migrations.length).padStart(4, "0");
    expect(r.added.sort()).toEqual([`${next}_probe.sql`, `meta/${next}_snapshot.json`]);
    expect(readFileSync(join(r.dir, `drizzle/${next}_probe.sql`), "utf8")).toContain(
      "CREATE TABLE `probe_drift`",
    );
  });
});
