import { type Algorithm, hash, verify } from "@node-rs/argon2";

// `Algorithm` is a const enum (not importable as a value under verbatimModuleSyntax); 2 is Argon2id.
const ARGON2ID = 2 as Algorithm.Argon2id;

import type { PasswordHasher } from "../../ports/passwords";

import { ARGON2_PARAMS } from "./params";

export { ARGON2_PARAMS };

/**
 * @node-rs/argon2 runs hashing on libuv's thread pool, so a login never blocks the event loop.
 * Hashes record their parameters; a hash made with other ones is flagged for rehash on login.
 */
export class Argon2Hasher implements PasswordHasher {
  readonly #params: { memoryCost: number; timeCost: number; parallelism: number };
  readonly #marker: string;

  constructor(params: { memoryCost: number; timeCost: number; parallelism: number } = ARGON2_PARAMS) {
    this.#params = params;
    this.#marker = `$m=${params.memoryCost},t=${params.timeCost},p=${params.parallelism}$`;
  }

  hash(password: string): Promise<string> {
    return hash(password, { algorithm: ARGON2ID, ...this.#params });
  }

  async verify(stored: string, password: string): Promise<{ ok: boolean; needsRehash: boolean }> {
    let ok = false;
    try {
      ok = await verify(stored, password);
    } catch {
      ok = false; // malformed hash: treat as a mismatch, never as a server error
    }
    return { ok, needsRehash: ok && (!stored.startsWith("$argon2id$") || !stored.includes(this.#marker)) };
  }
}
