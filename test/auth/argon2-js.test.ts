/**
 * The Workers password hasher (argon2id in JavaScript, src/adapters/passwords/argon2-js.ts) against
 * the native one on Bun: each verifies the other's hashes, so accounts move between deployments.
 */
import { describe, expect, test } from "bun:test";
import { Argon2Hasher } from "../../src/adapters/passwords/argon2";
import { JsArgon2Hasher } from "../../src/adapters/passwords/argon2-js";

const js = new JsArgon2Hasher();
const native = new Argon2Hasher();

describe("argon2id in JavaScript (Workers)", () => {
  test("writes the native PHC format with OWASP's parameters, and the native hasher verifies it", async () => {
    const stored = await js.hash("Quiet-Harbor-Lantern-1");
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await native.verify(stored, "Quiet-Harbor-Lantern-1")).toEqual({ ok: true, needsRehash: false });
    expect((await native.verify(stored, "Quiet-Harbor-Lantern-2")).ok).toBe(false);
  });

  test("verifies the native hasher's hashes; a wrong password is refused", async () => {
    const stored = await native.hash("Sturdy-Orbit-Lantern-7");
    expect(await js.verify(stored, "Sturdy-Orbit-Lantern-7")).toEqual({ ok: true, needsRehash: false });
    expect(await js.verify(stored, "Sturdy-Orbit-Lantern-8")).toEqual({ ok: false, needsRehash: false });
  });

  test("a hash with other parameters verifies and asks for a rehash", async () => {
    const weaker = new Argon2Hasher({ memoryCost: 4096, timeCost: 1, parallelism: 1 });
    const stored = await weaker.hash("Old-Params-Lantern-3");
    expect(await js.verify(stored, "Old-Params-Lantern-3")).toEqual({ ok: true, needsRehash: true });
  });

  test("malformed or hostile stored strings are a failed verification, not an error", async () => {
    const good = await js.hash("Quiet-Harbor-Lantern-1");
    const [, , v, , salt, hash] = good.split("$");
    for (const bad of [
      "",
      "not-a-hash",
      good.replace("argon2id", "argon2i"),
      `$argon2id$${v}$m=4194304,t=2,p=1$${salt}$${hash}`, // 4 GiB of memory
      `$argon2id$${v}$m=19456,t=999,p=1$${salt}$${hash}`,
      `$argon2id$${v}$m=19456,t=2,p=1$${salt}$`,
      `$argon2id$${v}$m=19456,t=2,p=1$!!!$${hash}`,
    ])
      expect(await js.verify(bad, "Quiet-Harbor-Lantern-1")).toEqual({ ok: false, needsRehash: false });
  });
});
