import { argon2id, argon2Verify } from "hash-wasm";
import type { PasswordHasher } from "../../ports/passwords";
import { ARGON2_PARAMS } from "./params";

/**
 * argon2id in WebAssembly for Workers, where native addons cannot load. Same PHC string format and
 * parameters as the native hasher, so hashes move freely between the Bun and Workers deployments.
 */
export class WasmArgon2Hasher implements PasswordHasher {
  readonly #marker =
    `$m=${ARGON2_PARAMS.memoryCost},t=${ARGON2_PARAMS.timeCost},p=${ARGON2_PARAMS.parallelism}$`;

  hash(password: string): Promise<string> {
    return argon2id({
      password,
      salt: crypto.getRandomValues(new Uint8Array(16)),
      parallelism: ARGON2_PARAMS.parallelism,
      iterations: ARGON2_PARAMS.timeCost,
      memorySize: ARGON2_PARAMS.memoryCost,
      hashLength: 32,
      outputType: "encoded",
    });
  }

  async verify(stored: string, password: string): Promise<{ ok: boolean; needsRehash: boolean }> {
    let ok = false;
    try {
      ok = await argon2Verify({ password, hash: stored });
    } catch {
      ok = false;
    }
    return { ok, needsRehash: ok && !stored.includes(this.#marker) };
  }
}
