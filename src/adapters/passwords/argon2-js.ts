import { argon2idAsync } from "@noble/hashes/argon2.js";
import { base64url, fromBase64url, timingSafeEqual } from "../../lib/crypto";
import type { PasswordHasher } from "../../ports/passwords";
import { ARGON2_PARAMS } from "./params";

/**
 * argon2id in plain JavaScript (@noble/hashes) for Workers, where native addons cannot load and
 * workerd refuses to compile WebAssembly at run time (which every WASM argon2 from npm that embeds
 * its binary does — hash-wasm's answered 500 on register). Same PHC string format and parameters
 * as the native hasher, so hashes move freely between the Bun and Workers deployments. Slower
 * (~0.3–0.5 s of CPU per hash at OWASP's 19 MiB/t=2), so Workers needs a plan whose CPU limit
 * allows it (the free plan's 10 ms does not fit any argon2id at these parameters).
 */
export class JsArgon2Hasher implements PasswordHasher {
  async hash(password: string): Promise<string> {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const { memoryCost: m, timeCost: t, parallelism: p } = ARGON2_PARAMS;
    const hash = await argon2idAsync(password, salt, { m, t, p, dkLen: 32 });
    return `$argon2id$v=19$m=${m},t=${t},p=${p}$${b64(salt)}$${b64(hash)}`;
  }

  async verify(stored: string, password: string): Promise<{ ok: boolean; needsRehash: boolean }> {
    const phc = parsePhc(stored);
    if (!phc) return { ok: false, needsRehash: false };
    const actual = await argon2idAsync(password, phc.salt, {
      m: phc.m,
      t: phc.t,
      p: phc.p,
      dkLen: phc.hash.length,
    });
    const ok = timingSafeEqual(b64(actual), b64(phc.hash));
    const current =
      phc.m === ARGON2_PARAMS.memoryCost &&
      phc.t === ARGON2_PARAMS.timeCost &&
      phc.p === ARGON2_PARAMS.parallelism;
    return { ok, needsRehash: ok && !current };
  }
}

/** Unpadded standard base64, as PHC strings use it (lib/crypto's base64url with the standard alphabet). */
const b64 = (bytes: Uint8Array) => base64url(bytes).replace(/-/g, "+").replace(/_/g, "/");

function unb64(s: string): Uint8Array | null {
  try {
    return fromBase64url(s);
  } catch {
    return null;
  }
}

/** `$argon2id$v=19$m=…,t=…,p=…$salt$hash`; null for anything else (other algorithms, bad numbers). */
function parsePhc(s: string): { m: number; t: number; p: number; salt: Uint8Array; hash: Uint8Array } | null {
  const m =
    /^\$argon2id\$v=19\$m=(\d{1,7}),t=(\d{1,3}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(s);
  if (!m) return null;
  const [mem, time, par] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const salt = unb64(m[4] as string);
  const hash = unb64(m[5] as string);
  // Bounds keep a corrupted or hostile hash from asking for gigabytes or hours.
  if (!salt || !hash || salt.length < 8 || hash.length < 16 || hash.length > 64) return null;
  if (mem < 8 * par || mem > 262_144 || time < 1 || time > 10 || par < 1 || par > 16) return null;
  return { m: mem, t: time, p: par, salt, hash };
}
