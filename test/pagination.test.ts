/**
 * Cursors are client input: every listing that takes `?cursor=` answers a forged one with a 422
 * naming `cursor`, never a 500 — also when its numbers are beyond what a Date can hold.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { encodeCursor } from "../src/lib/pagination";
import { createTestApp, type TestApp } from "./support/app";
import { type SeededMember, seedMember } from "./support/identity";

let t: TestApp;
let admin: SeededMember;
let listings: string[] = [];
beforeAll(async () => {
  t = await createTestApp();
  admin = await seedMember(t, "admin");
  const doc = (await (await t.app.request("/api/v1/openapi.json")).json()) as {
    paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
  };
  listings = Object.entries(doc.paths)
    .filter(([, ops]) => ops.get?.parameters?.some((p) => p.name === "cursor" && p.in === "query"))
    .map(([path]) => path);
});
afterAll(() => t?.close());

const HUGE = Number.MAX_SAFE_INTEGER;
const forged = [
  encodeCursor({ s: HUGE, t: HUGE, c: HUGE, i: "x", n: "x" }),
  encodeCursor({ s: -HUGE, t: -HUGE, c: -HUGE, i: "x", n: "x" }),
  "not-a-cursor",
];

test("every cursor listing answers forged cursors with 200 or a 422 naming the field, never a 500", async () => {
  expect(listings.length).toBeGreaterThanOrEqual(10);
  for (const path of listings) {
    for (const cursor of forged) {
      const url = `${path.replace("{id}", "db.optimize").replace("{orgId}", admin.orgId)}?cursor=${cursor}${path.startsWith("/api/v1/reports/") ? "&from=2026-03-02&to=2026-03-08" : ""}`;
      const res = path.startsWith("/api/v1/admin/")
        ? await t.asOperator(url)
        : await t.app.request(url, { headers: admin.auth });
      const body = (await res.json()) as { errors?: { path: string }[] };
      // A cursor whose shape fits (a project name, say) is just a position: 200. Anything else: 422.
      if (cursor === "not-a-cursor" || res.status !== 200) {
        expect([path, cursor, res.status]).toEqual([path, cursor, 422]);
        expect([path, body.errors?.map((e) => e.path)]).toEqual([path, ["cursor"]]);
      }
    }
  }
});
