import { z } from "zod";
import { invalidCidrs } from "../lib/ip";

/**
 * The whole configuration, validated once at start-up. `parseConfig` never exits or throws for bad
 * input: it returns every problem at once, grouped as errors and warnings, and the runtime decides.
 */

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const csv = z.string().transform((v) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** `kid:base64key` pairs; the first is the key new ciphertexts are written with. */
const encryptionKeys = z.string().transform((value, ctx) => {
  const keys: { id: string; key: string }[] = [];
  for (const part of value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = part.indexOf(":");
    const id = i > 0 ? part.slice(0, i) : "";
    const key = i > 0 ? part.slice(i + 1) : "";
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id) || !isKey32(key)) {
      ctx.addIssue({ code: "custom", message: "each entry must be <keyId>:<base64 of 32 bytes>" });
      return z.NEVER;
    }
    keys.push({ id, key });
  }
  if (keys.length === 0) {
    ctx.addIssue({ code: "custom", message: "must list at least one key" });
    return z.NEVER;
  }
  return keys;
});

function isKey32(b64: string): boolean {
  try {
    return atob(b64.replace(/-/g, "+").replace(/_/g, "/")).length === 32;
  } catch {
    return false;
  }
}

const url = z.url();

/** A rate-limit rule `<max>/<window>`: `5/15m`, `100/1m`, `60/60s`; units s, m, h, d (bare = seconds). */
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const rateRule = z.string().transform((value, ctx) => {
  const m = /^(\d{1,7})\s*\/\s*(\d{1,6})\s*([smhd]?)$/i.exec(value.trim());
  const max = m ? Number(m[1]) : 0;
  const window = m ? Number(m[2]) * UNIT_MS[(m[3] || "s").toLowerCase()]! : 0;
  if (!m || max < 1 || window < 1000 || window > 7 * 86_400_000) {
    ctx.addIssue({
      code: "custom",
      message: "must be <max>/<window>, e.g. 5/15m or 100/60s (max ≥ 1, window 1 s to 7 d)",
    });
    return z.NEVER;
  }
  return { max, window };
});

/** Comma list of IPv4/IPv6 CIDRs or addresses; every invalid entry is named. */
const cidrList = csv.superRefine((list, ctx) => {
  const bad = invalidCidrs(list);
  if (bad.length) ctx.addIssue({ code: "custom", message: `not an IP address or CIDR: ${bad.join(", ")}` });
});

export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default("0.0.0.0"),
  DATA_DIR: z.string().min(1).default("./data"),
  /** libSQL URL: file:, :memory:, http(s)://, ws(s)://, libsql://. Default: file under DATA_DIR. */
  DATABASE_URL: z
    .string()
    .regex(
      /^(file:|:memory:$|https?:\/\/|wss?:\/\/|libsql:\/\/)/,
      "must be file:, :memory:, http(s)://, ws(s):// or libsql://",
    )
    .optional(),
  DATABASE_AUTH_TOKEN: z.string().min(1).optional(),
  /** File databases on Bun: WAL checkpoint period on a worker thread (ms); 0 = SQLite's automatic ones. */
  DB_CHECKPOINT_INTERVAL_MS: int(0, 60_000).default(20),
  DB_WRITE_THREAD: bool.default(true),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must start with redis:// or rediss://")
    .optional(),
  /** S3-compatible blob store (screenshots) instead of files under DATA_DIR: set the bucket and keys. */
  S3_BUCKET: z.string().min(1).optional(),
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().min(1).default("us-east-1"),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_PREFIX: z
    .string()
    .regex(/^(?:[A-Za-z0-9][A-Za-z0-9_.-]*\/)*$/, "empty, or path segments each ending in /")
    .default(""),
  /**
   * How long the auth middleware may serve a session or token from memory (ms; 0 = read the database
   * on every request). Writes invalidate it at once on every instance; see principal-cache.ts.
   */
  AUTH_CACHE_TTL_MS: int(0, 300_000).default(30_000),
  /** Prepended to every Redis key and channel, so deployments (or test runs) can share one Redis. */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[\w:.-]{1,64}$/, "letters, digits and _ : . - only, at most 64")
    .default("tt:"),
  JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).default("teamtrack-api"),
  ENCRYPTION_KEY: z
    .string()
    .refine(isKey32, "must be base64 of exactly 32 bytes (openssl rand -base64 32)")
    .optional(),
  ENCRYPTION_KEYS: encryptionKeys.optional(),
  CORS_ORIGINS: csv.default([]),
  TRUST_PROXY: z
    .enum(["x-forwarded-for", "x-real-ip", "cf-connecting-ip", "true-client-ip", "fly-client-ip"])
    .optional(),
  /** Proxies (CIDRs) skipped when walking X-Forwarded-For from the right; see lib/ip.ts. */
  TRUSTED_PROXIES: cidrList.default([]),
  /** Clients (CIDRs) exempt from the per-IP limits (login, register, forgot, verify-resend). */
  RATE_LIMIT_ALLOWLIST: cidrList.default([]),
  RATE_LIMIT_LOGIN: rateRule.prefault("5/15m"),
  RATE_LIMIT_REGISTER: rateRule.prefault("5/1h"),
  RATE_LIMIT_PASSWORD_FORGOT: rateRule.prefault("5/1h"),
  RATE_LIMIT_VERIFY_RESEND: rateRule.prefault("5/1h"),
  RATE_LIMIT_API: rateRule.prefault("100/1m"),
  RATE_LIMIT_HEARTBEATS: rateRule.prefault("60/1m"),
  RATE_LIMIT_SCREENSHOTS: rateRule.prefault("10/1m"),
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** Instance operator credentials for /api/v1/admin/* (jobs) and detailed health. */
  OPERATOR_TOKEN: z.string().min(32, "must be at least 32 characters").optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  OTEL_EXPORTER_OTLP_ENDPOINT: url.optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default("teamtrack"),
  RESEND_API_KEY: z.string().min(1).optional(),
  RESEND_BASE_URL: url.optional(),
  MAIL_FROM: z.string().min(3).default("TeamTrack <no-reply@teamtrack.local>"),
  PUBLIC_URL: url.optional(),
  BODY_LIMIT_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  SHUTDOWN_TIMEOUT_MS: int(0, 120_000).default(10_000),
  SLOW_QUERY_MS: int(0, 600_000).default(100),
  MIGRATE_ON_START: bool.default(true),
  /** Account lockout (SPEC 2.5): wrong passwords per account, across IPs, within the window. */
  LOCKOUT_THRESHOLD: int(1, 1000).default(10),
  LOCKOUT_WINDOW_SECONDS: int(1, 86_400).default(900),
  /** First lock; each further lock within a day doubles it (at most 24 h). */
  LOCKOUT_DURATION_SECONDS: int(1, 86_400).default(900),
  /** A rotated refresh token presented again within this window gets the same successor (client races). */
  REFRESH_REUSE_GRACE_SECONDS: int(0, 60).default(10),
  JOBS_ENABLED: bool.default(true),
  /** Instance name in logs, job runs and traces; default: generated per process. */
  INSTANCE_ID: z
    .string()
    .regex(/^[\w.-]{1,64}$/)
    .optional(),
});

export type Env = z.infer<typeof envSchema>;

export interface Config extends Omit<Env, "ENCRYPTION_KEY" | "ENCRYPTION_KEYS" | "JWT_SECRET"> {
  databaseUrl: string;
  jwtSecret: string;
  jwtIssuer: string;
  /** Active key first. */
  encryptionKeys: { id: string; key: string }[];
  isProduction: boolean;
  publicUrl: string;
  version: string;
}

export interface ConfigProblem {
  variable: string;
  message: string;
}

export interface ConfigReport {
  config?: Config;
  errors: ConfigProblem[];
  warnings: ConfigProblem[];
}

/** Secrets that development may generate once; production must be given them. */
export const GENERATED_SECRETS = ["JWT_SECRET", "ENCRYPTION_KEY"] as const;

export const VERSION = "0.1.0";

/**
 * Validate an environment. Unset and empty variables count as absent (an empty line in .env must not
 * turn into an empty secret). Every problem is reported, never only the first.
 */
export function parseConfig(raw: Record<string, string | undefined>): ConfigReport {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined && v.trim() !== "") env[k] = v.trim();

  const errors: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      errors.push({ variable: String(issue.path[0] ?? "?"), message: issue.message });
    }
  }
  const nodeEnv = env.NODE_ENV ?? "development";
  const isProduction = nodeEnv === "production";
  if (isProduction) {
    if (!env.JWT_SECRET) errors.push({ variable: "JWT_SECRET", message: "is required in production" });
    if (!env.ENCRYPTION_KEY && !env.ENCRYPTION_KEYS)
      errors.push({
        variable: "ENCRYPTION_KEY",
        message: "ENCRYPTION_KEY or ENCRYPTION_KEYS is required in production",
      });
    if ((env.CORS_ORIGINS ?? "").split(",").some((o) => o.trim() === "*"))
      errors.push({
        variable: "CORS_ORIGINS",
        message: "'*' is refused in production; list the allowed origins",
      });
    if (!env.PUBLIC_URL)
      warnings.push({ variable: "PUBLIC_URL", message: "unset; links in emails will point at localhost" });
    else if (env.PUBLIC_URL.startsWith("http://"))
      warnings.push({ variable: "PUBLIC_URL", message: "is not https in production" });
    if (!env.METRICS_TOKEN)
      warnings.push({ variable: "METRICS_TOKEN", message: "unset; /metrics is disabled" });
    if (!env.RESEND_API_KEY)
      warnings.push({
        variable: "RESEND_API_KEY",
        message: "unset; emails go to the dev outbox, nobody receives them",
      });
  }
  if (env.ENCRYPTION_KEY && env.ENCRYPTION_KEYS)
    warnings.push({ variable: "ENCRYPTION_KEY", message: "ignored because ENCRYPTION_KEYS is set" });
  if (env.TRUSTED_PROXIES && env.TRUST_PROXY !== "x-forwarded-for")
    warnings.push({
      variable: "TRUSTED_PROXIES",
      message: "has no effect unless TRUST_PROXY=x-forwarded-for",
    });
  if (env.RESEND_BASE_URL && !env.RESEND_API_KEY)
    warnings.push({ variable: "RESEND_BASE_URL", message: "has no effect without RESEND_API_KEY" });

  if (errors.length > 0 || !parsed.success) return { errors, warnings };
  const e = parsed.data;
  const { ENCRYPTION_KEY, ENCRYPTION_KEYS, JWT_SECRET, ...rest } = e;
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, "");
  const config: Config = {
    ...rest,
    databaseUrl: e.DATABASE_URL ?? `file:${e.DATA_DIR.replace(/\/$/, "")}/teamtrack.db`,
    jwtSecret: JWT_SECRET ?? "",
    jwtIssuer: e.JWT_ISSUER ?? publicUrl,
    encryptionKeys: ENCRYPTION_KEYS ?? (ENCRYPTION_KEY ? [{ id: "k1", key: ENCRYPTION_KEY }] : []),
    isProduction,
    publicUrl,
    version: VERSION,
  };
  if (!config.jwtSecret) errors.push({ variable: "JWT_SECRET", message: "is required" });
  if (e.S3_BUCKET)
    for (const variable of ["S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"] as const)
      if (!e[variable]) errors.push({ variable, message: "is required with S3_BUCKET" });
  if (config.encryptionKeys.length === 0) errors.push({ variable: "ENCRYPTION_KEY", message: "is required" });
  return errors.length ? { errors, warnings } : { config, errors, warnings };
}

/** Human-readable report, one line per problem, grouped. */
export function formatReport(report: ConfigReport): string {
  const lines: string[] = [];
  if (report.errors.length) {
    lines.push(`Configuration errors (${report.errors.length}):`);
    for (const p of report.errors) lines.push(`  ✗ ${p.variable}: ${p.message}`);
  }
  if (report.warnings.length) {
    lines.push(`Configuration warnings (${report.warnings.length}):`);
    for (const p of report.warnings) lines.push(`  ! ${p.variable}: ${p.message}`);
  }
  return lines.join("\n");
}
