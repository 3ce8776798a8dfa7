/** Password hashing (argon2id). Implementations hash off the event loop. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** `needsRehash` when the stored hash used other parameters than the current ones. */
  verify(hash: string, password: string): Promise<{ ok: boolean; needsRehash: boolean }>;
}
