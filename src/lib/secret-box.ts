/**
 * Encryption at rest for secrets that must be read back (TOTP secrets, webhook signing secrets,
 * integration credentials) — SPEC 2.6. AES-256-GCM on Web Crypto (Bun and Workers alike).
 *
 * Ciphertext format: `v1.<keyId>.<iv b64url>.<ciphertext+tag b64url>`. The key id lets
 * `ENCRYPTION_KEYS` list several keys: the first encrypts, every listed key decrypts, and
 * `needsRotation` tells the re-encryption job which rows are still under an older key.
 *
 * Every call takes an `aad` (additional authenticated data) naming where the value lives, e.g.
 * `two_factor.secret:usr_…`: a ciphertext copied into another user's row fails to decrypt, so a
 * database-only attacker cannot move a known secret onto someone else's account.
 */
import { base64url, fromBase64url, randomBytes } from "./crypto";

const VERSION = "v1";
const IV_BYTES = 12;

export interface EncryptionKey {
  id: string;
  /** Base64 of exactly 32 bytes. */
  key: string;
}

export class SecretBoxError extends Error {
  constructor(
    message: string,
    readonly reason: "malformed" | "unknown_key" | "tampered",
  ) {
    super(message);
    this.name = "SecretBoxError";
  }
}

export class SecretBox {
  readonly #keys: Map<string, Promise<CryptoKey>>;
  readonly #primary: string;

  /** `keys[0]` encrypts; all of them decrypt. */
  constructor(keys: readonly EncryptionKey[]) {
    const first = keys[0];
    if (!first) throw new Error("SecretBox needs at least one key");
    this.#primary = first.id;
    this.#keys = new Map(
      keys.map((k) => [
        k.id,
        crypto.subtle.importKey("raw", decodeKey(k.key) as BufferSource, "AES-GCM", false, [
          "encrypt",
          "decrypt",
        ]),
      ]),
    );
  }

  /** The key id new ciphertexts are written with. */
  get primaryKeyId(): string {
    return this.#primary;
  }

  async encrypt(plaintext: string, aad: string): Promise<string> {
    const key = await this.#key(this.#primary);
    const iv = randomBytes(IV_BYTES);
    const ct = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: iv as BufferSource, additionalData: new TextEncoder().encode(aad) },
      key,
      new TextEncoder().encode(plaintext),
    );
    return [VERSION, this.#primary, base64url(iv), base64url(new Uint8Array(ct))].join(".");
  }

  /** Throws SecretBoxError on a malformed value, an unknown key id, or any tampering (GCM tag). */
  async decrypt(ciphertext: string, aad: string): Promise<string> {
    const { keyId, iv, body } = parse(ciphertext);
    if (!this.#keys.has(keyId))
      throw new SecretBoxError(`No key "${keyId}" in ENCRYPTION_KEYS`, "unknown_key");
    try {
      const pt = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: iv as BufferSource, additionalData: new TextEncoder().encode(aad) },
        await this.#key(keyId),
        body as BufferSource,
      );
      return new TextDecoder().decode(pt);
    } catch {
      throw new SecretBoxError("Ciphertext failed authentication", "tampered");
    }
  }

  /** True when the value was written under a key other than the primary one. */
  needsRotation(ciphertext: string): boolean {
    return parse(ciphertext).keyId !== this.#primary;
  }

  /** The key id a ciphertext names (for reports); throws on a malformed value. */
  keyIdOf(ciphertext: string): string {
    return parse(ciphertext).keyId;
  }

  #key(id: string): Promise<CryptoKey> {
    const k = this.#keys.get(id);
    if (!k) throw new SecretBoxError(`No key "${id}" in ENCRYPTION_KEYS`, "unknown_key");
    return k;
  }
}

function parse(ciphertext: string): { keyId: string; iv: Uint8Array; body: Uint8Array } {
  const parts = ciphertext.split(".");
  if (parts.length !== 4 || parts[0] !== VERSION || !parts[1] || !parts[2] || !parts[3])
    throw new SecretBoxError("Not a v1 ciphertext", "malformed");
  try {
    const iv = fromBase64url(parts[2]);
    const body = fromBase64url(parts[3]);
    if (iv.length !== IV_BYTES || body.length < 16) throw new Error("short");
    return { keyId: parts[1], iv, body };
  } catch {
    throw new SecretBoxError("Not a v1 ciphertext", "malformed");
  }
}

function decodeKey(b64: string): Uint8Array {
  const raw = atob(b64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  if (out.length !== 32) throw new Error("Encryption keys must be 32 bytes");
  return out;
}
