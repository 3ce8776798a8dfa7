/**
 * The scaled-out deploy target (README "Deploy targets"): two server processes over real HTTP on one
 * libSQL server (sqld), one Redis and one S3-compatible bucket (s3rver). What one instance stores,
 * the other serves: a screenshot uploaded through A is listed, fetched and thumbnailed through B,
 * and deleted through B it is gone from the bucket for A too.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { S3BlobStore } from "../../src/adapters/blob/s3";
import { makeImage, uploadForm } from "../screenshots/support";
import { type ServerProcess, startServer, stopAll } from "../support/process";
import { requires } from "../support/requirements";
import { type S3Server, type SqldServer, sqldBinary, startS3, startSqld } from "../support/tools";

const REDIS_URL = process.env.REDIS_URL;
const STRONG = "Quiet-Harbour-Lantern-1842";

const haveSqld = requires("sqld", !!sqldBinary(), "run `npm run tools`");
const haveRedis = requires("Redis (REDIS_URL)", !!REDIS_URL, "set REDIS_URL=redis://127.0.0.1:6379");

if (haveSqld && haveRedis && REDIS_URL) {
  let sqld: SqldServer;
  let s3: S3Server;
  let A: ServerProcess;
  let B: ServerProcess;
  const prefix = `e2e-${crypto.randomUUID().slice(0, 8)}/`;

  beforeAll(async () => {
    [sqld, s3] = await Promise.all([startSqld(), startS3()]);
    const env = {
      DATABASE_URL: sqld.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: `tt-scaled-${crypto.randomUUID().slice(0, 8)}:`,
      JWT_SECRET: "scaled-out-jwt-secret-0123456789abcdefghij",
      // One public address for the deployment: it is the tokens' issuer, so every instance accepts them.
      PUBLIC_URL: "https://teamtrack.example.com",
      ENCRYPTION_KEY: btoa("0123456789abcdef0123456789abcdef"),
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_PREFIX: prefix,
    };
    A = await startServer(env); // migrates the shared database first
    B = await startServer(env);
  }, 60_000);
  afterAll(async () => {
    await stopAll();
    await Promise.all([sqld?.stop(), s3?.stop()]);
  });

  async function http(
    s: ServerProcess,
    method: string,
    path: string,
    init: { json?: unknown; auth?: string; form?: FormData } = {},
  ) {
    const headers: Record<string, string> = {};
    if (init.auth) headers.authorization = `Bearer ${init.auth}`;
    if (init.json !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${s.url}${path}`, {
      method,
      headers,
      body: init.form ?? (init.json === undefined ? undefined : JSON.stringify(init.json)),
    });
    return res;
  }

  describe("scaled out: two instances, one sqld, one Redis, one bucket", () => {
    test("both instances answer ready with the bucket among their checks", async () => {
      for (const s of [A, B]) {
        const res = await fetch(`${s.url}/health/ready`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { checks: Record<string, { status: string }> };
        expect(Object.keys(body.checks).sort()).toEqual(["blobs", "database", "migrations", "redis"]);
        expect(body.checks.blobs?.status).toBe("pass");
      }
    });

    test("a screenshot uploaded through A is listed, fetched and thumbnailed through B; deleted through B, gone for A", async () => {
      const email = `scaled-${crypto.randomUUID().slice(0, 8)}@example.com`;
      expect(
        (await http(A, "POST", "/api/v1/auth/register", { json: { email, password: STRONG, name: "Ana" } }))
          .status,
      ).toBe(201);
      const login = await http(B, "POST", "/api/v1/auth/login", { json: { email, password: STRONG } });
      expect(login.status).toBe(200);
      const access = ((await login.json()) as { accessToken: string }).accessToken;
      const agent = await http(A, "POST", "/api/v1/agents", { json: { name: "Ana's laptop" }, auth: access });
      expect(agent.status).toBe(201);
      const agentToken = ((await agent.json()) as { token: string }).token;

      const png = await makeImage("png", 1280, 800);
      const up = await http(A, "POST", "/api/v1/ingest/screenshots", {
        auth: agentToken,
        form: uploadForm(png),
      });
      expect(up.status).toBe(201);
      const { id } = (await up.json()) as { id: string };

      const list = await http(B, "GET", "/api/v1/screenshots", { auth: access });
      expect(list.status).toBe(200);
      expect(((await list.json()) as { data: { id: string }[] }).data.map((s) => s.id)).toContain(id);
      for (const path of [`/api/v1/screenshots/${id}/image`, `/api/v1/screenshots/${id}/thumbnail`]) {
        const res = await http(B, "GET", path, { auth: access });
        expect([path, res.status, res.headers.get("content-type")]).toEqual([path, 200, "image/jpeg"]);
        const body = new Uint8Array(await res.arrayBuffer());
        expect(Array.from(body.slice(0, 3))).toEqual([0xff, 0xd8, 0xff]);
      }
      // The objects are in the bucket under the deployment's prefix (not on either instance's disk).
      const bucket = new S3BlobStore({
        bucket: s3.bucket,
        endpoint: s3.endpoint,
        region: "us-east-1",
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        prefix: "",
      });
      const listed = await fetch(
        `${s3.endpoint}/${s3.bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}`,
      );
      const keys = [...(await listed.text()).matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1] as string);
      expect(keys.length).toBeGreaterThanOrEqual(3); // full image and two thumbnails
      expect(keys.every((k) => k.startsWith(prefix))).toBe(true);

      expect((await http(B, "DELETE", `/api/v1/screenshots/${id}`, { auth: access })).status).toBe(204);
      expect((await http(A, "GET", `/api/v1/screenshots/${id}/image`, { auth: access })).status).toBe(404);
      for (const k of keys) expect(await bucket.get(k)).toBeNull();
    });
  });
}
