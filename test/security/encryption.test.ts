/**
 * SPEC 2.6 / issue 4 point 7: read-back secrets are AES-256-GCM ciphertexts that name their key;
 * rotating ENCRYPTION_KEYS keeps old rows readable and `keys.rotate` (job and `teamtrack keys
 * rotate`) re-encrypts them; tampering is detected.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { eq } from "drizzle-orm";
import { twoFactor } from "../../src/db/schema";
import { SecretBox, SecretBoxError } from "../../src/lib/secret-box";
import { totpCode } from "../../src/modules/two-factor/totp";
import { challenge, enrolled, STEP, verify } from "../auth/two-factor.support";
import { createTestApp, type TestApp } from "../support/app";
import { spawnBun, stopAll, tempDir } from "../support/process";

const keyA = { id: "k1", key: Buffer.alloc(32, 1).toString("base64") };
const keyB = { id: "k2", key: Buffer.alloc(32, 2).toString("base64") };
const keysEnv = (...keys: { id: string; key: string }[]) => keys.map((k) => `${k.id}:${k.key}`).join(",");

afterAll(stopAll);

async function rejects(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SecretBoxError) return err.reason;
    throw err;
  }
  throw new Error("expected a SecretBoxError");
}

describe("SecretBox (AES-256-GCM with key ids)", () => {
  test("round trip; the ciphertext names its key and differs every time (random IV)", async () => {
    const box = new SecretBox([keyA]);
    const a = await box.encrypt("JBSWY3DPEHPK3PXP", "ctx:1");
    const b = await box.encrypt("JBSWY3DPEHPK3PXP", "ctx:1");
    expect(a).toMatch(/^v1\.k1\./);
    expect(a).not.toBe(b);
    expect(await box.decrypt(a, "ctx:1")).toBe("JBSWY3DPEHPK3PXP");
  });

  test("a flipped bit, another row's AAD, a truncated value or an unknown key are all refused", async () => {
    const box = new SecretBox([keyA]);
    const ct = await box.encrypt("secret value", "two_factor.secret:usr_a");
    const parts = ct.split(".");
    const body = parts[3] ?? "";
    const flipped = `${body.slice(0, 5)}${body[5] === "A" ? "B" : "A"}${body.slice(6)}`;
    expect(
      await rejects(box.decrypt([...parts.slice(0, 3), flipped].join("."), "two_factor.secret:usr_a")),
    ).toBe("tampered");
    // Moved onto another user's row: the AAD no longer matches.
    expect(await rejects(box.decrypt(ct, "two_factor.secret:usr_b"))).toBe("tampered");
    expect(await rejects(box.decrypt(ct.slice(0, 20), "two_factor.secret:usr_a"))).toBe("malformed");
    expect(await rejects(new SecretBox([keyB]).decrypt(ct, "two_factor.secret:usr_a"))).toBe("unknown_key");
  });

  test("with several keys the first encrypts and all decrypt; needsRotation spots old ones", async () => {
    const old = await new SecretBox([keyA]).encrypt("x", "c");
    const rotated = new SecretBox([keyB, keyA]);
    expect(await rotated.decrypt(old, "c")).toBe("x");
    expect(rotated.needsRotation(old)).toBe(true);
    const fresh = await rotated.encrypt("x", "c");
    expect(rotated.keyIdOf(fresh)).toBe("k2");
    expect(rotated.needsRotation(fresh)).toBe(false);
  });
});

describe("key rotation of stored TOTP secrets", () => {
  let t: TestApp;
  afterEach(() => t?.close());

  test("old rows stay readable after rotation, the keys.rotate job re-encrypts them, 2FA keeps working", async () => {
    // ENCRYPTION_KEYS after a rotation: k2 first (encrypts), k1 kept (decrypts rows written before).
    t = await createTestApp({ ENCRYPTION_KEYS: keysEnv(keyB, keyA) });
    t.clock.set("2026-11-22T10:00:10.000Z");
    const a = await enrolled(t);
    const aad = `two_factor.secret:${a.userId}`;
    // The row as it was written before the rotation: under k1.
    const underOldKey = await new SecretBox([keyA]).encrypt(a.secret, aad);
    await t.platform.db
      .update(twoFactor)
      .set({ secretCiphertext: underOldKey })
      .where(eq(twoFactor.userId, a.userId));

    t.clock.advance(STEP);
    expect((await verify(t, await challenge(t, a), await totpCode(a.secret, t.clock.now()))).status).toBe(
      200,
    );

    const run = await t.asOperator("/api/v1/admin/jobs/keys.rotate/run", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ wait: true }),
    });
    expect(run.status).toBe(200);
    const result = (await run.json()) as { status: string; result: Record<string, number> };
    expect(result.status).toBe("succeeded");
    expect(result.result).toMatchObject({ rotated: 1, unreadable: 0 });
    const [after] = await t.platform.db.select().from(twoFactor).where(eq(twoFactor.userId, a.userId));
    expect(after?.secretCiphertext).toMatch(/^v1\.k2\./);
    expect(await new SecretBox([keyB]).decrypt(after?.secretCiphertext ?? "", aad)).toBe(a.secret);
    t.clock.advance(STEP);
    expect((await verify(t, await challenge(t, a), await totpCode(a.secret, t.clock.now()))).status).toBe(
      200,
    );
  });

  test("a tampered ciphertext fails the rotation job (reported, row untouched)", async () => {
    t = await createTestApp({ ENCRYPTION_KEYS: keysEnv(keyB, keyA) });
    t.clock.set("2026-11-22T10:00:10.000Z");
    const a = await enrolled(t);
    const forged = await new SecretBox([keyA]).encrypt(
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "two_factor.secret:usr_other",
    );
    await t.platform.db
      .update(twoFactor)
      .set({ secretCiphertext: forged })
      .where(eq(twoFactor.userId, a.userId));
    const run = await t.asOperator("/api/v1/admin/jobs/keys.rotate/run", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ wait: true }),
    });
    const body = (await run.json()) as { status: string; error: string };
    expect(body.status).toBe("failed");
    expect(body.error).toContain("1 secret(s) could not be decrypted");
    const [row] = await t.platform.db.select().from(twoFactor).where(eq(twoFactor.userId, a.userId));
    expect(row?.secretCiphertext).toBe(forged);
  });
});

describe("teamtrack keys rotate (CLI, real process, database file)", () => {
  test("re-encrypts rows written under the old key and exits 0", async () => {
    const dir = tempDir();
    const env = { DATA_DIR: dir, NODE_ENV: "development", JWT_SECRET: "x".repeat(40) };
    const migrate = spawnBun(["src/cli/index.ts", "migrate"], { ...env, ENCRYPTION_KEYS: keysEnv(keyA) });
    expect(await migrate.waitForExit(30_000)).toBe(0);
    const db = createClient({ url: `file:${join(dir, "teamtrack.db")}` });
    const now = Date.now();
    const ct = await new SecretBox([keyA]).encrypt(
      "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
      "two_factor.secret:usr_cli",
    );
    await db.execute({
      sql: "INSERT INTO users (id, email, name, password_hash, created_at, updated_at) VALUES ('usr_cli', 'cli@example.com', 'C', 'x', ?, ?)",
      args: [now, now],
    });
    await db.execute({
      sql: "INSERT INTO two_factor (user_id, secret_ciphertext, enabled_at, created_at, updated_at) VALUES ('usr_cli', ?, ?, ?, ?)",
      args: [ct, now, now, now],
    });
    const child = spawnBun(["src/cli/index.ts", "keys", "rotate", "--json"], {
      ...env,
      ENCRYPTION_KEYS: keysEnv(keyB, keyA),
    });
    const code = await child.waitForExit(30_000);
    expect({ code, stderr: child.stderr() }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(child.stdout()).toContain('"rotated": 1');
    const row = (await db.execute("SELECT secret_ciphertext AS c FROM two_factor WHERE user_id = 'usr_cli'"))
      .rows[0];
    expect(String(row?.c)).toMatch(/^v1\.k2\./);
    expect(await new SecretBox([keyB]).decrypt(String(row?.c), "two_factor.secret:usr_cli")).toBe(
      "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    );
    db.close();
  });
});
