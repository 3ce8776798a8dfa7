/**
 * Every /api/v1 route × every role (pocketbase's ApiScenario, as a table).
 *
 * Each cell runs on a fresh app and fresh data: organization A with an admin, a manager, a member
 * and a viewer; organization B with its admin ("otherOrgAdmin"); and no credentials ("anonymous").
 * Ids in paths belong to organization A (or to the caller, for things a user owns: sessions,
 * tokens), so otherOrgAdmin's column is the BOLA check from the outside. A second table runs every
 * route that takes an id with organization B's ids as A's admin: always 404, never 403 or data.
 *
 * The table must cover the OpenAPI document exactly: a new route fails the suite until it is added.
 *
 * Rows live in test/security/rbac/*.rows.ts (one file per area, each exporting `rows`), so every
 * module adds its own without touching this runner.
 */

import { beforeAll, describe, expect, test } from "bun:test";
import { createTestApp } from "../support/app";
import { seedMember } from "../support/identity";
import {
  api,
  type Cell,
  type Fixture,
  type Params,
  ROLES,
  type RoleName,
  type Scenario,
} from "./rbac/support";

const rowFiles = [
  ...new Bun.Glob("*.rows.ts").scanSync({ cwd: `${import.meta.dir}/rbac`, absolute: true }),
].sort();
const SCENARIOS: Scenario[] = [];
for (const file of rowFiles) SCENARIOS.push(...((await import(file)) as { rows: Scenario[] }).rows);

// ---------------------------------------------------------------- running it

const fill = (path: string, params: Params = {}) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`table: no value for {${name}} in ${path}`);
    return encodeURIComponent(v);
  });

async function withCell<T>(role: RoleName, run: (x: Cell) => Promise<T>): Promise<T> {
  const t = await createTestApp({ PUBLIC_URL: "https://app.teamtrack.test" });
  try {
    const admin = await seedMember(t, "admin", { password: "Copper-Meadow-Sailing-7" });
    const seed = (r: "manager" | "member" | "viewer") =>
      seedMember(t, r, { orgId: admin.orgId, password: "Copper-Meadow-Sailing-7" });
    const fx: Fixture = {
      admin,
      manager: await seed("manager"),
      member: await seed("member"),
      viewer: await seed("viewer"),
      otherOrgAdmin: await seedMember(t, "admin", { password: "Copper-Meadow-Sailing-7" }),
    };
    const me = role === "anonymous" ? null : fx[role];
    return await run({ t, fx, me, subject: me ?? fx.admin });
  } finally {
    await t.close();
  }
}

let documented: Set<string>;
beforeAll(async () => {
  const t = await createTestApp();
  const doc = (await (await t.app.request("/api/v1/openapi.json")).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  await t.close();
  documented = new Set(
    Object.entries(doc.paths)
      .filter(([path]) => path.startsWith("/api/v1/"))
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)),
  );
});

const tableKeys = SCENARIOS.map((s) => s.route);

describe("RBAC matrix: the table covers the API", () => {
  test("every /api/v1 operation in the OpenAPI document has a row", () => {
    const missing = [...documented].filter((k) => !tableKeys.includes(k));
    expect(missing, `add these routes to SCENARIOS in ${import.meta.file}`).toEqual([]);
  });

  test("every row is a route the app serves (unregistered routes are listed here)", () => {
    const unregistered = tableKeys.filter((k) => !documented.has(k));
    expect(unregistered, "rows for routes that are not registered (yet)").toEqual([]);
  });

  test("no duplicate rows; every route with an id in its path has a cross-organization check", () => {
    expect(new Set(tableKeys).size).toBe(tableKeys.length);
    const withoutCross = SCENARIOS.filter((s) => s.route.includes("{") && !s.crossOrg).map((s) => s.route);
    expect(withoutCross).toEqual([]);
  });
});

for (const s of SCENARIOS) {
  const [method, path] = s.route.split(" ") as [string, string];
  describe(s.route, () => {
    for (const role of ROLES) {
      test(`${role} → ${s.expect[role]}`, async () => {
        if (!documented.has(s.route)) throw new Error(`${s.route} is not registered in the app`);
        await withCell(role, async (x) => {
          const { params, body } = (await s.prepare?.(x)) ?? {};
          const res = await api(x.t, method, fill(path, params), x.me, body);
          const detail = res.status === s.expect[role] ? "" : ` (${await res.text()})`;
          expect(`${res.status}${detail}`).toBe(String(s.expect[role]));
          if (res.status === 401) expect(res.headers.get("www-authenticate")).toContain("Bearer");
        });
      });
    }
    if (Array.isArray(s.crossOrg)) {
      s.crossOrg.forEach((cross, i) => {
        test(`another organization's id (${i + 1}) → 404 for A's admin`, async () => {
          if (!documented.has(s.route)) throw new Error(`${s.route} is not registered in the app`);
          await withCell("admin", async (x) => {
            const { params, body, intact } = await cross(x);
            const res = await api(x.t, method, fill(path, params), x.fx.admin, body);
            const text = await res.text();
            expect(`${res.status}${res.status === 404 ? "" : ` (${text})`}`).toBe("404");
            for (const v of Object.values(params ?? {}))
              if (v.length > 8) expect(text).not.toContain(`"${v}"`);
            if (intact) expect(await intact()).toBe(true);
          });
        });
      });
    }
  });
}
