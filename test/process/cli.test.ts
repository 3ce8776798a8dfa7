/**
 * The `teamtrack` CLI as an operator runs it (`bun src/cli/index.ts …`), against a real database file.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { spawnBun, stopAll, tempDir } from "../support/process";

afterAll(stopAll);

async function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const child = spawnBun(["src/cli/index.ts", ...args], { NODE_ENV: "development", ...env });
  const code = await child.waitForExit(30_000);
  if (code === null) await child.kill();
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

describe("help and usage", () => {
  test("--help lists the commands and exits 0, without needing a valid configuration", async () => {
    const r = await cli(["--help"], { LOG_LEVEL: "loud" });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: teamtrack <command>");
    for (const c of ["migrate", "jobs list", "jobs run <id>", "help"]) expect(r.stdout).toContain(c);
  });

  test("help <command> and <command> --help show the command's own help", async () => {
    const a = await cli(["help", "jobs"]);
    const b = await cli(["jobs", "--help"]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(a.stdout).toContain("Usage: teamtrack jobs");
    expect(b.stdout).toBe(a.stdout);
    const m = await cli(["migrate", "-h"]);
    expect(m.code).toBe(0);
    expect(m.stdout).toContain("Usage: teamtrack migrate");
  });

  test("an unknown command, option or missing argument prints usage to stderr and exits 2", async () => {
    for (const args of [
      ["frobnicate"],
      [],
      ["migrate", "--bogus"],
      ["jobs"],
      ["jobs", "run"],
      ["jobs", "explode"],
    ]) {
      const r = await cli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain("Usage: teamtrack");
      expect(r.stdout).toBe("");
    }
  });

  test("an invalid configuration is reported like the server does, exit 1", async () => {
    const r = await cli(["migrate"], { DATA_DIR: tempDir(), LOG_LEVEL: "loud", DATABASE_URL: "mysql://x" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Configuration errors (2)");
    expect(r.stderr).toContain("LOG_LEVEL");
    expect(r.stderr).toContain("DATABASE_URL");
  });
});

describe("against a database file", () => {
  const dataDir = tempDir();
  const env = { DATA_DIR: dataDir };

  test("migrate applies the migrations, then reports up to date", async () => {
    const dry = await cli(["migrate", "--dry-run"], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("pending  0000_foundation");

    const first = await cli(["migrate"], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("applied  0000_foundation");
    // Results on stdout, never JSON log lines.
    expect(first.stdout).not.toContain('"level"');

    const second = await cli(["migrate"], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("up to date");
    expect(second.stdout).not.toContain("applied  ");
  });

  test("jobs list shows every job with its cron", async () => {
    const r = await cli(["jobs", "list"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ID\s+CRON \(UTC\)\s+LAST RUN\s+DESCRIPTION/);
    expect(r.stdout).toMatch(/db\.optimize\s+0 4 \* \* \*\s+never/);
    expect(r.stdout).toContain("events.relay");
  });

  test("jobs run db.optimize exits 0 and records a run with trigger cli", async () => {
    const r = await cli(["jobs", "run", "db.optimize"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^db\.optimize succeeded in \d+ ms \(run jrun_\w+\)/);

    const client = createClient({ url: `file:${join(dataDir, "teamtrack.db")}` });
    try {
      const rows = await client.execute("SELECT job_id, trigger, status, finished_at FROM job_runs");
      expect(rows.rows.map((row) => ({ ...row }) as Record<string, unknown>)).toEqual([
        { job_id: "db.optimize", trigger: "cli", status: "succeeded", finished_at: expect.any(Number) },
      ]);
    } finally {
      client.close();
    }

    const list = await cli(["jobs", "list", "--json"], env);
    expect(list.code).toBe(0);
    const { data } = JSON.parse(list.stdout) as {
      data: { id: string; cron: string; lastRun: { trigger: string; status: string } | null }[];
    };
    expect(data.find((j) => j.id === "db.optimize")).toMatchObject({
      cron: "0 4 * * *",
      lastRun: { trigger: "cli", status: "succeeded" },
    });
  });

  test("jobs run with an unknown id exits 1 and names the known jobs", async () => {
    const r = await cli(["jobs", "run", "nope"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Unknown job "nope"');
    expect(r.stderr).toContain("db.optimize");
  });

  test("with MIGRATE_ON_START=false, jobs commands refuse a database that is behind", async () => {
    const r = await cli(["jobs", "list"], { DATA_DIR: tempDir(), MIGRATE_ON_START: "false" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("pending migration");
    expect(r.stderr).toContain("teamtrack migrate");
  });
});
