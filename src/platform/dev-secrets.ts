import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GENERATED_SECRETS } from "../config/env";
import { base64url, randomBytes } from "../lib/crypto";

const FILE = "dev-secrets.json";

/**
 * Development only: secrets missing from the environment are generated once and kept in
 * DATA_DIR/dev-secrets.json (mode 0600), so sessions and encrypted rows survive restarts.
 * Returns the environment with them filled in and the names that came from the file.
 */
export function withDevSecrets(env: Record<string, string | undefined>): {
  env: Record<string, string | undefined>;
  filled: string[];
  created: boolean;
  path: string;
} {
  const dataDir = env.DATA_DIR?.trim() || "./data";
  const path = join(dataDir, FILE);
  const missing = GENERATED_SECRETS.filter(
    (k) => !env[k]?.trim() && !(k === "ENCRYPTION_KEY" && env.ENCRYPTION_KEYS?.trim()),
  );
  if (missing.length === 0) return { env, filled: [], created: false, path };
  let stored: Record<string, string> = {};
  if (existsSync(path)) stored = JSON.parse(readFileSync(path, "utf8")) as Record<string, string>;
  let created = false;
  for (const k of missing) {
    if (!stored[k]) {
      stored[k] =
        k === "ENCRYPTION_KEY" ? btoa(String.fromCharCode(...randomBytes(32))) : base64url(randomBytes(48));
      created = true;
    }
  }
  if (created) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  }
  const out = { ...env };
  for (const k of missing) out[k] = stored[k];
  return { env: out, filled: [...missing], created, path };
}
