/**
 * The session cache (SPEC 2.2): the auth middleware serves sessions and API/agent tokens from memory,
 * and every write that changes what a principal may do invalidates it before it answers. Unit tests
 * of PrincipalCache (TTL on the injected clock, invalidation, the read-vs-invalidation race, delivery
 * epochs), then every revocation path of the app with the cache warm first, so each would fail if its
 * invalidation were missing. Across instances over real Redis: test/auth/principal-cache.redis.test.ts.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { MemoryPubSub } from "../../src/adapters/kv/memory";
import { memberships } from "../../src/db/schema";
import { PrincipalCache } from "../../src/modules/auth/principal-cache";
import { ManualClock } from "../../src/ports/clock";
import type { PubSub } from "../../src/ports/kv";
import { linkToken, mailTo } from "../account/support";
import { createTestApp, type TestApp } from "../support/app";
import { changeRoleAsAdmin, removeAsAdmin, seedMember } from "../support/identity";
import { createAgent, createPat } from "../tokens/support";
import { bearer, insertPat, login, me, post, refresh, register } from "./helpers";

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("PrincipalCache", () => {
  const make = async (opts: { ttlMs?: number; maxEntries?: number; pubsub?: PubSub } = {}) => {
    const clock = new ManualClock();
    const pubsub = opts.pubsub ?? new MemoryPubSub();
    const cache = new PrincipalCache<string>({
      clock,
      ttlMs: opts.ttlMs ?? 30_000,
      maxEntries: opts.maxEntries,
      pubsub,
    });
    await cache.start();
    return { clock, cache, pubsub };
  };

  test("serves an entry until its TTL on the injected clock, then reads again", async () => {
    const { clock, cache } = await make();
    cache.set("s:1", "u1", "row", cache.generation());
    clock.advance(29_999);
    expect(cache.get("s:1")).toBe("row");
    clock.advance(1);
    expect(cache.get("s:1")).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, size: 0 });
  });

  test("invalidateUser drops every entry of that user and only theirs; invalidateKey one entry", async () => {
    const { cache } = await make();
    const g = cache.generation();
    cache.set("s:1", "u1", "a", g);
    cache.set("t:x", "u1", "b", g);
    cache.set("s:2", "u2", "c", g);
    await cache.invalidateUser("u1");
    expect([cache.get("s:1"), cache.get("t:x"), cache.get("s:2")]).toEqual([undefined, undefined, "c"]);
    await cache.invalidateKey("s:2");
    expect(cache.get("s:2")).toBeUndefined();
  });

  test("a read that started before an invalidation is not stored after it (no revoked state put back)", async () => {
    const { cache } = await make();
    const before = cache.generation(); // request A starts reading the database …
    await cache.invalidateUser("u1"); // … a revocation commits and invalidates meanwhile …
    cache.set("s:1", "u1", "stale", before); // … A's (stale) result arrives
    expect(cache.get("s:1")).toBeUndefined();
    expect(cache.stats().refused).toBe(1);
    cache.set("s:1", "u1", "fresh", cache.generation());
    expect(cache.get("s:1")).toBe("fresh");
  });

  test("ttl 0 is off: nothing is stored; nothing is served before start()", async () => {
    const off = (await make({ ttlMs: 0 })).cache;
    expect(off.enabled).toBe(false);
    off.set("s:1", "u1", "row", off.generation());
    expect(off.get("s:1")).toBeUndefined();
    const notStarted = new PrincipalCache<string>({
      clock: new ManualClock(),
      ttlMs: 30_000,
      pubsub: new MemoryPubSub(),
    });
    notStarted.set("s:1", "u1", "row", notStarted.generation());
    expect(notStarted.get("s:1")).toBeUndefined();
  });

  test("holds at most maxEntries, dropping the oldest", async () => {
    const { cache } = await make({ maxEntries: 2 });
    for (const k of ["a", "b", "c"]) cache.set(k, `u-${k}`, k, cache.generation());
    expect([cache.get("a"), cache.get("b"), cache.get("c")]).toEqual([undefined, "b", "c"]);
    expect(cache.stats().size).toBe(2);
  });

  test.each([
    ["an invalidation published by one instance reaches another on the same channel", {}],
    ["an instance with its own cache off still tells the others (they may share its database)", { ttlMs: 0 }],
  ])("%s", async (_name, publisher) => {
    const pubsub = new MemoryPubSub();
    const from = await make({ pubsub, ...publisher });
    const to = await make({ pubsub });
    to.cache.set("s:1", "u1", "row", to.cache.generation());
    await from.cache.invalidateUser("u1");
    await tick();
    expect(to.cache.get("s:1")).toBeUndefined();
  });

  test("serves nothing while delivery is not sure, and starts empty in a new delivery epoch", async () => {
    let epoch: number | null = 0;
    const inner = new MemoryPubSub();
    const pubsub: PubSub = {
      publish: (ch, m) => inner.publish(ch, m),
      subscribe: (ch, h) => inner.subscribe(ch, h),
      deliveryEpoch: () => epoch,
      close: () => inner.close(),
    };
    const { cache } = await make({ pubsub });
    cache.set("s:1", "u1", "row", cache.generation());
    expect(cache.get("s:1")).toBe("row");
    epoch = null; // subscriber connection down: invalidations could be lost
    expect(cache.get("s:1")).toBeUndefined();
    cache.set("s:2", "u2", "row", cache.generation());
    expect(cache.stats().size).toBe(0);
    epoch = 1; // reconnected and subscribed again: what was cached before may be stale
    expect(cache.get("s:1")).toBeUndefined();
    cache.set("s:3", "u3", "row", cache.generation());
    expect(cache.get("s:3")).toBe("row");
  });
});

describe("the auth middleware's cache in the app", () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  const sessionReads = (app: TestApp = t) =>
    app.spans
      .getFinishedSpans()
      .filter(
        (s) => s.name.startsWith("db.") && String(s.attributes["db.query.text"]).includes('from "sessions"'),
      ).length;

  /** GET /me twice: the second must come from the cache, or the revocation tests below prove nothing. */
  async function warm(auth: Record<string, string>) {
    expect((await t.app.request("/api/v1/me", { headers: auth })).status).toBe(200);
    t.spans.reset();
    const hits = t.services.principals.stats().hits;
    expect((await t.app.request("/api/v1/me", { headers: auth })).status).toBe(200);
    expect(t.services.principals.stats().hits).toBe(hits + 1);
    expect(sessionReads()).toBe(0);
  }

  test("a repeated request reads no session from the database; the first one does", async () => {
    const a = await register(t);
    const l = await login(t, a);
    t.spans.reset();
    expect((await me(t, l.accessToken)).status).toBe(200);
    expect(sessionReads()).toBe(1);
    await warm(l.auth);
  });

  test("logout: the cached session's access token is refused on the next request", async () => {
    const l = await login(t, await register(t));
    await warm(l.auth);
    expect((await t.app.request("/api/v1/auth/logout", post(undefined, l.auth))).status).toBe(204);
    expect((await me(t, l.accessToken)).status).toBe(401);
  });

  test("DELETE /auth/sessions/{id} and revoke-others reach the cached sessions", async () => {
    const a = await register(t);
    const [one, two, three] = [await login(t, a), await login(t, a), await login(t, a)];
    for (const l of [one!, two!, three!]) await warm(l.auth);
    const del = await t.app.request(`/api/v1/auth/sessions/${two!.sessionId}`, {
      method: "DELETE",
      headers: one!.auth,
    });
    expect(del.status).toBe(204);
    expect((await me(t, two!.accessToken)).status).toBe(401);
    expect((await me(t, three!.accessToken)).status).toBe(200);
    expect(
      (await t.app.request("/api/v1/auth/sessions/revoke-others", post(undefined, one!.auth))).status,
    ).toBe(200);
    expect((await me(t, three!.accessToken)).status).toBe(401);
    expect((await me(t, one!.accessToken)).status).toBe(200);
  });

  test("password change revokes the other cached sessions; password reset revokes all", async () => {
    const a = await register(t);
    const [keep, other] = [await login(t, a), await login(t, a)];
    await warm(keep!.auth);
    await warm(other!.auth);
    const newPassword = "Brand-New-Harbor-Lantern-42";
    const changed = await t.app.request(
      "/api/v1/auth/password/change",
      post({ currentPassword: a.password, newPassword }, keep!.auth),
    );
    expect(changed.status).toBe(200);
    expect((await me(t, other!.accessToken)).status).toBe(401);
    expect((await me(t, keep!.accessToken)).status).toBe(200);

    expect((await t.app.request("/api/v1/auth/password/forgot", post({ email: a.email }))).status).toBe(202);
    const [mail] = await mailTo(t, a.email, "password_reset");
    const reset = await t.app.request(
      "/api/v1/auth/password/reset",
      post({ token: linkToken(mail!), password: "Another-Quiet-Harbor-77" }),
    );
    expect(reset.status).toBe(200);
    expect((await me(t, keep!.accessToken)).status).toBe(401);
  });

  test("refresh-token reuse revokes the cached session", async () => {
    const l = await login(t, await register(t));
    await warm(l.auth);
    expect((await refresh(t, l.refreshToken)).status).toBe(200);
    await warm(l.auth); // the refresh dropped it; cache the session again
    t.clock.advance(11_000); // past the reuse grace window, within the cache's TTL
    expect((await refresh(t, l.refreshToken)).status).toBe(401);
    expect((await me(t, l.accessToken)).status).toBe(401);
  });

  test("a refresh drops the cached session: its last use changed, and the idle timeout counts from it", async () => {
    const l = await login(t, await register(t));
    await warm(l.auth);
    t.clock.advance(60_000);
    const res = await refresh(t, l.refreshToken);
    expect(res.status).toBe(200);
    const { accessToken } = (await res.json()) as { accessToken: string };
    t.spans.reset();
    expect((await me(t, accessToken)).status).toBe(200);
    expect(sessionReads()).toBe(1);
  });

  test("a role change and a removal through the API apply to the cached session and tokens at once", async () => {
    const m = await seedMember(t, "manager");
    const pat = await createPat(t, m, { scopes: ["members:read", "members:write"] });
    const agent = await createAgent(t, m);
    await warm(m.auth);
    await warm(bearer(pat.token));
    expect((await t.app.request("/api/v1/agents/me", { headers: bearer(agent.token) })).status).toBe(200);

    await changeRoleAsAdmin(t, m, "viewer");
    expect(((await (await me(t, m.accessToken)).json()) as { role: string }).role).toBe("viewer");
    expect(((await (await me(t, pat.token)).json()) as { role: string }).role).toBe("viewer");

    await removeAsAdmin(t, m);
    expect((await me(t, m.accessToken)).status).toBe(401);
    expect((await me(t, pat.token)).status).toBe(401);
    expect((await t.app.request("/api/v1/agents/me", { headers: bearer(agent.token) })).status).toBe(401);
  });

  test("revoking a cached personal access token or agent token refuses it on the next request", async () => {
    const m = await seedMember(t, "member");
    const pat = await createPat(t, m, { scopes: ["members:read"] });
    const agent = await createAgent(t, m);
    await warm(bearer(pat.token));
    expect((await t.app.request("/api/v1/agents/me", { headers: bearer(agent.token) })).status).toBe(200);
    expect((await t.app.request("/api/v1/agents/me", { headers: bearer(agent.token) })).status).toBe(200);
    const del = (path: string) => t.app.request(path, { method: "DELETE", headers: m.auth });
    expect((await del(`/api/v1/tokens/${pat.id}`)).status).toBe(204);
    expect((await me(t, pat.token)).status).toBe(401);
    expect((await del(`/api/v1/agents/${agent.id}`)).status).toBe(204);
    expect((await t.app.request("/api/v1/agents/me", { headers: bearer(agent.token) })).status).toBe(401);
  });

  test("switching organization: the same access token acts in the new organization at once", async () => {
    const a = await register(t);
    const l = await login(t, a);
    await warm(l.auth);
    // A second organization with the user as a member (set up directly: nothing cached depends on it).
    const second = (await seedMember(t, "admin")).orgId;
    const now = t.clock.now();
    await t.platform.db.insert(memberships).values({
      id: `mem_${crypto.randomUUID()}`,
      orgId: second,
      userId: a.userId,
      role: "member",
      createdAt: now,
      updatedAt: now,
    });
    const sw = await t.app.request(
      "/api/v1/auth/sessions/current/organization",
      post({ organizationId: second }, l.auth),
    );
    expect(sw.status).toBe(200);
    const body = (await (await me(t, l.accessToken)).json()) as {
      organization: { id: string };
      role: string;
    };
    expect(body.organization.id).toBe(second);
    expect(body.role).toBe("member");
  });

  test("/me answers from the cached identity: an email change and an organization rename show at once", async () => {
    const a = await register(t);
    const l = await login(t, a);
    await warm(l.auth);
    const profile = async () =>
      (await (await me(t, l.accessToken)).json()) as {
        user: { email: string; emailVerified: boolean };
        organization: { name: string };
      };
    expect((await profile()).user.emailVerified).toBe(false);

    const [verify] = await mailTo(t, a.email, "verification");
    expect(
      (await t.app.request("/api/v1/auth/email/verify", post({ token: linkToken(verify!) }))).status,
    ).toBe(200);
    expect((await profile()).user.emailVerified).toBe(true);

    const newEmail = `moved-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const asked = await t.app.request(
      "/api/v1/auth/email/change",
      post({ password: a.password, newEmail }, l.auth),
    );
    expect(asked.status).toBe(202);
    const [link] = await mailTo(t, newEmail, "email_change_verification");
    expect((await t.app.request("/api/v1/auth/email/verify", post({ token: linkToken(link!) }))).status).toBe(
      200,
    );
    expect((await profile()).user.email).toBe(newEmail);

    const renamed = await t.app.request(`/api/v1/orgs/${a.orgId}`, {
      method: "PATCH",
      headers: { ...l.auth, "content-type": "application/json" },
      body: JSON.stringify({ name: "Renamed Ltd" }),
    });
    expect(renamed.status).toBe(200);
    expect((await profile()).organization.name).toBe("Renamed Ltd");
  });

  test("a change made outside the app (SQL by hand) is seen once the TTL has passed", async () => {
    const a = await register(t);
    const pat = await insertPat(t, a);
    await warm(bearer(pat));
    await t.platform.db.update(memberships).set({ role: "viewer" }).where(eq(memberships.userId, a.userId));
    const role = async () => ((await (await me(t, pat)).json()) as { role: string }).role;
    expect(await role()).toBe("admin"); // nothing told the cache
    t.clock.advance(t.platform.config.AUTH_CACHE_TTL_MS);
    expect(await role()).toBe("viewer");
  });

  test("AUTH_CACHE_TTL_MS=0 reads the session from the database on every request", async () => {
    const off = await createTestApp({ AUTH_CACHE_TTL_MS: "0" });
    try {
      const l = await login(off, await register(off));
      off.spans.reset();
      for (let i = 0; i < 3; i++) expect((await me(off, l.accessToken)).status).toBe(200);
      expect(sessionReads(off)).toBe(3);
      expect(off.services.principals.enabled).toBe(false);
    } finally {
      await off.close();
    }
  });
});
