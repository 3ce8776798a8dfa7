import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { base64url } from "../../src/lib/crypto";
import { ACCESS_TTL_SECONDS, signAccessToken, verifyAccessToken } from "../../src/modules/auth/auth.tokens";
import { createTestApp, type TestApp } from "../support/app";
import { bearer, login, MINUTE, me, register } from "./helpers";

/** Spec 2.2 / issue point 4: every forged or misused access token is a 401 on GET /api/v1/me. */
describe("access JWT attacks", () => {
  let t: TestApp;
  let token: string;
  let refreshToken: string;
  let claims: { sub: string; sid: string; org: string };

  beforeEach(async () => {
    t = await createTestApp();
    const account = await register(t);
    const l = await login(t, account);
    token = l.accessToken;
    refreshToken = l.refreshToken;
    claims = { sub: account.userId, sid: l.sessionId, org: account.orgId };
  });
  afterEach(() => t.close());

  const secret = () => new TextEncoder().encode(t.platform.config.jwtSecret);
  const settings = () => ({ issuer: t.platform.config.jwtIssuer, audience: t.platform.config.JWT_AUDIENCE });

  /** A token like the server's, with one thing changed. */
  async function forge(
    opts: {
      alg?: string;
      key?: Uint8Array;
      typ?: string;
      issuer?: string;
      audience?: string;
      expiresIn?: number;
    } = {},
  ): Promise<string> {
    const now = Math.floor(t.clock.now().getTime() / 1000);
    return new SignJWT({ sid: claims.sid, org: claims.org, typ: opts.typ ?? "access" })
      .setProtectedHeader({ alg: opts.alg ?? "HS256", typ: "JWT" })
      .setSubject(claims.sub)
      .setIssuer(opts.issuer ?? settings().issuer)
      .setAudience(opts.audience ?? settings().audience)
      .setIssuedAt(now)
      .setExpirationTime(now + (opts.expiresIn ?? 900))
      .sign(opts.key ?? secret());
  }

  async function expect401(accessToken: string) {
    const res = await me(t, accessToken);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { code: string };
    expect(body.code).toBe("UNAUTHORIZED");
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
  }

  test("control: the real token and a faithful forgery with the real key are accepted", async () => {
    expect((await me(t, token)).status).toBe(200);
    expect((await me(t, await forge())).status).toBe(200);
  });

  test("expired (15 min lifetime; clock moved 16 min)", async () => {
    t.clock.advance(14 * MINUTE);
    expect((await me(t, token)).status).toBe(200);
    t.clock.advance(2 * MINUTE);
    await expect401(token);
  });

  test("tampered payload (sub changed, signature kept) and a flipped signature", async () => {
    const [h, , s] = token.split(".");
    const payload = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
    payload.sub = "usr_someone_else";
    const tampered = `${h}.${base64url(new TextEncoder().encode(JSON.stringify(payload)))}.${s}`;
    await expect401(tampered);
    // Flipping one signature character is refused too.
    const flipped = token.slice(0, -2) + (token.at(-2) === "A" ? "B" : "A") + token.at(-1);
    await expect401(flipped);
  });

  test("alg:none (unsigned), with and without a trailing signature", async () => {
    const enc = (o: unknown) => base64url(new TextEncoder().encode(JSON.stringify(o)));
    const payload = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
    for (const alg of ["none", "None", "NONE"]) {
      const header = enc({ alg, typ: "JWT" });
      await expect401(`${header}.${enc(payload)}.`);
      await expect401(`${header}.${enc(payload)}.${token.split(".")[2]}`);
    }
  });

  test("HS256 signed with another secret", async () => {
    await expect401(
      await forge({ key: new TextEncoder().encode("another-secret-0123456789abcdef0123456789") }),
    );
  });

  test("an algorithm outside the allow-list (HS512 with the real key)", async () => {
    await expect401(await forge({ alg: "HS512" }));
  });

  test("wrong audience", async () => {
    await expect401(await forge({ audience: "some-other-api" }));
  });

  test("wrong issuer", async () => {
    await expect401(await forge({ issuer: "https://evil.example" }));
  });

  test("typ other than access", async () => {
    await expect401(await forge({ typ: "refresh" }));
    await expect401(await forge({ typ: "mfa_challenge" }));
  });

  test("a refresh token presented as a bearer token", async () => {
    await expect401(refreshToken);
  });

  test("garbage and an empty-looking bearer", async () => {
    await expect401("not-a-jwt");
    await expect401("a.b.c");
    const res = await t.app.request("/api/v1/me", { headers: bearer("") });
    expect(res.status).toBe(401);
  });
});

/** Verified tokens are remembered (auth.tokens.ts); the memory must never widen what is accepted. */
describe("verified-token memory", () => {
  const base = { issuer: "https://tt.example", audience: "teamtrack-api" };
  const a = { ...base, secret: "secret-a-0123456789abcdef0123456789abcdef" };
  const b = { ...base, secret: "secret-b-0123456789abcdef0123456789abcdef" };
  const now = new Date("2026-06-01T10:00:00Z");
  const claims = { sub: "usr_1", sid: "ses_1", org: "org_1" };

  test("a token verified under one secret, issuer or audience is refused under another", async () => {
    const token = await signAccessToken(claims, a, now);
    expect(await verifyAccessToken(token, a, now)).toEqual(claims);
    expect(await verifyAccessToken(token, a, now)).toEqual(claims); // remembered
    expect(await verifyAccessToken(token, b, now)).toBeNull();
    expect(await verifyAccessToken(token, { ...a, audience: "other" }, now)).toBeNull();
    expect(await verifyAccessToken(token, { ...a, issuer: "https://evil.example" }, now)).toBeNull();
  });

  test("a remembered token expires at exactly its exp, like an unremembered one", async () => {
    const token = await signAccessToken(claims, a, now);
    expect(await verifyAccessToken(token, a, now)).toEqual(claims);
    const exp = new Date(now.getTime() + ACCESS_TTL_SECONDS * 1000);
    expect(await verifyAccessToken(token, a, new Date(exp.getTime() - 1000))).toEqual(claims);
    expect(await verifyAccessToken(token, a, exp)).toBeNull();
    // Forgotten on expiry: presenting it again is still refused (now by jose).
    expect(await verifyAccessToken(token, a, exp)).toBeNull();
  });

  test("a remembered token's one-character variants are verified afresh and refused", async () => {
    const token = await signAccessToken(claims, a, now);
    expect(await verifyAccessToken(token, a, now)).toEqual(claims);
    const flipped = token.slice(0, -2) + (token.at(-2) === "A" ? "B" : "A") + token.at(-1);
    expect(await verifyAccessToken(flipped, a, now)).toBeNull();
    expect(await verifyAccessToken(`${token}x`, a, now)).toBeNull();
  });
});
