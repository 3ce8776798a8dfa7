import { afterAll, expect, test } from "bun:test";
import { createTestApp } from "./support/app";

const t = await createTestApp();
afterAll(() => t.close());

test("the app answers health and serves its OpenAPI document", async () => {
  const res = await t.app.request("/api/v1/health");
  expect(res.status).toBe(200);
  expect(res.headers.get("API-Version")).toBe("1");
  const doc = await (await t.app.request("/api/v1/openapi.json")).json();
  expect(doc.openapi).toBe("3.1.0");
  expect(Object.keys(doc.paths)).toContain("/api/v1/admin/jobs/{id}/run");
});
