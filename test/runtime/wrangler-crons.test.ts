/**
 * Cron Triggers are the Workers scheduler: a job whose cron is missing from wrangler.toml would never
 * run there, and a trigger no job uses would wake the worker for nothing. Keep the two sets equal.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createTestApp, type TestApp } from "../support/app";

const wrangler = Bun.TOML.parse(readFileSync(join(import.meta.dir, "../../wrangler.toml"), "utf8")) as {
  triggers?: { crons?: string[] };
};

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

test("wrangler.toml [triggers] crons equal the set of registered job crons", () => {
  const declared = wrangler.triggers?.crons ?? [];
  expect(new Set(declared).size).toBe(declared.length); // no duplicates
  expect([...declared].sort()).toEqual(t.services.jobs.crons());
});

test("every registered job has a trigger that dispatches it", () => {
  const declared = new Set(wrangler.triggers?.crons ?? []);
  const orphans = t.services.jobs.list().filter((j) => !declared.has(j.cron));
  expect(orphans.map((j) => `${j.id} (${j.cron})`)).toEqual([]);
});
