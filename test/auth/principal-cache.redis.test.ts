/**
 * The principal cache across instances: two apps on one database file and one real Redis, as when
 * scaled out. A revocation on one instance reaches the other's cache over Redis pub/sub without
 * waiting for the TTL (both apps' clocks stand still), and a dropped subscriber connection empties
 * the cache and resubscribes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRedis } from "../../src/adapters/kv/redis";
import { PRINCIPAL_CHANNEL } from "../../src/modules/auth/principal-cache";
import { createTestApp, type TestApp } from "../support/app";
import { changeRoleAsAdmin } from "../support/identity";
import { requires } from "../support/requirements";
import { login, me, post, register } from "./helpers";

const url = process.env.REDIS_URL;

/** Polls `done` (every 5 ms, at most 3 s): network delivery, not a clock, decides when it holds. */
async function eventually(what: string, done: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`not within 3 s: ${what}`);
    await Bun.sleep(5);
  }
}

if (requires("Redis (REDIS_URL)", !!url, "set REDIS_URL=redis://127.0.0.1:6379") && url) {
  describe("principal cache over Redis, two instances on one database", () => {
    const dir = mkdtempSync(join(tmpdir(), "tt-principals-"));
    const env = {
      DATABASE_URL: `file:${join(dir, "db.sqlite")}`,
      DATA_DIR: dir,
      REDIS_URL: url,
      REDIS_KEY_PREFIX: `tt-test:${crypto.randomUUID()}:`,
    };
    let a: TestApp;
    let b: TestApp;
    beforeAll(async () => {
      a = await createTestApp(env);
      b = await createTestApp(env, { migrate: false });
      await eventually("both subscribed", () =>
        [a, b].every((x) => x.platform.pubsub.deliveryEpoch(PRINCIPAL_CHANNEL) !== null),
      );
    });
    afterAll(async () => {
      await b.close();
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const hits = (x: TestApp) => x.services.principals.stats().hits;

    async function warmOn(x: TestApp, token: string) {
      expect((await me(x, token)).status).toBe(200);
      const before = hits(x);
      expect((await me(x, token)).status).toBe(200);
      expect(hits(x)).toBe(before + 1);
    }

    test("a logout on one instance refuses the session on the other, without waiting for the TTL", async () => {
      const l = await login(a, await register(a));
      await warmOn(b, l.accessToken);
      const seen = b.services.principals.stats().invalidations;
      expect((await a.app.request("/api/v1/auth/logout", post(undefined, l.auth))).status).toBe(204);
      await eventually("B heard the invalidation", () => b.services.principals.stats().invalidations > seen);
      expect((await me(b, l.accessToken)).status).toBe(401);
    });

    test("a role change on one instance is the role on the other at its next request", async () => {
      const owner = await register(a);
      const pat = await a.app.request(
        "/api/v1/tokens",
        post({ name: "ci", scopes: ["members:read"] }, (await login(a, owner)).auth),
      );
      expect(pat.status).toBe(201);
      const token = ((await pat.json()) as { token: string }).token;
      const role = async () => ((await (await me(b, token)).json()) as { role: string }).role;
      expect(await role()).toBe("admin");
      await warmOn(b, token);
      const seen = b.services.principals.stats().invalidations;
      await changeRoleAsAdmin(a, owner, "viewer");
      await eventually("B heard the invalidation", () => b.services.principals.stats().invalidations > seen);
      expect(await role()).toBe("viewer");
    });

    test("a dropped subscriber connection empties the cache; after resubscribing, invalidations arrive again", async () => {
      const l = await login(a, await register(a));
      await warmOn(b, l.accessToken);
      const epoch = b.platform.pubsub.deliveryEpoch(PRINCIPAL_CHANNEL);
      const admin = createRedis(url);
      try {
        await admin.call("CLIENT", "KILL", "TYPE", "pubsub");
      } finally {
        await admin.quit();
      }
      await eventually("B resubscribed in a new epoch", () => {
        const now = b.platform.pubsub.deliveryEpoch(PRINCIPAL_CHANNEL);
        return now !== null && now !== epoch;
      });
      await eventually("A resubscribed", () => a.platform.pubsub.deliveryEpoch(PRINCIPAL_CHANNEL) !== null);
      // The entry cached before the gap is not served: the first request reads the database again.
      const before = hits(b);
      expect((await me(b, l.accessToken)).status).toBe(200);
      expect(hits(b)).toBe(before);
      await warmOn(b, l.accessToken);
      const seen = b.services.principals.stats().invalidations;
      expect((await a.app.request("/api/v1/auth/logout", post(undefined, l.auth))).status).toBe(204);
      await eventually("B heard the invalidation", () => b.services.principals.stats().invalidations > seen);
      expect((await me(b, l.accessToken)).status).toBe(401);
    });
  });
}
