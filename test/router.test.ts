import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { MemoRouter } from "../src/http/router";
import { createTestApp } from "./support/app";

describe("MemoRouter", () => {
  test("routes as Hono's default router, path parameters per request, remembered answers reused", async () => {
    const router = new MemoRouter<string>();
    const app = new Hono({ router: router as never });
    app.use("/members/*", async (c, next) => {
      c.header("X-Mw", "1");
      await next();
    });
    app.get("/members/stats", (c) => c.text("stats"));
    app.get("/members/:id/profile", (c) => c.text(`profile ${c.req.param("id")}`));
    for (let round = 0; round < 2; round++) {
      expect(await (await app.request("/members/stats")).text()).toBe("stats");
      expect(await (await app.request("/members/m1/profile")).text()).toBe("profile m1");
      expect(await (await app.request("/members/m2/profile")).text()).toBe("profile m2");
      expect((await app.request("/members/m2/profile")).headers.get("x-mw")).toBe("1");
      expect((await app.request("/members/m2")).status).toBe(404);
    }
    // The same method and path get the very same (read-only) result back.
    expect(router.match("GET", "/members/m1/profile")).toBe(router.match("GET", "/members/m1/profile"));
    expect(router.match("POST", "/members/m1/profile")).not.toBe(router.match("GET", "/members/m1/profile"));
  });

  test("past its bound it starts over and still answers correctly", async () => {
    const app = new Hono({ router: new MemoRouter() as never });
    app.get("/items/:id", (c) => c.text(c.req.param("id")));
    for (let i = 0; i < 5000; i++) expect(await (await app.request(`/items/${i}`)).text()).toBe(String(i));
    expect(await (await app.request("/items/7")).text()).toBe("7");
  });

  test("the application routes through it", async () => {
    const t = await createTestApp();
    expect(t.app.router.name).toBe("MemoRouter");
    await t.close();
  });
});
