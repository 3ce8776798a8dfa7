/**
 * Start-up configuration (SPEC §4): every problem is listed at once, grouped as errors / warnings;
 * an error exits 1 before anything is opened or listened on; development generates missing secrets
 * once under DATA_DIR, production requires them.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { formatReport, parseConfig } from "../../src/config/env";
import { spawnServer, startServer, stopAll, tempDir } from "../support/process";

afterAll(stopAll);

const KEY = btoa("0123456789abcdef0123456789abcdef");
const JWT = "jwt-secret-for-config-tests-0123456789abcdef";

/** The lines of one report section ("Configuration errors (N):" up to the next heading). */
function section(text: string, heading: "errors" | "warnings"): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`Configuration ${heading} (`));
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!/^\s+[✗!] /.test(l)) break;
    out.push(l);
  }
  const count = Number(/\((\d+)\)/.exec(lines[start]!)?.[1]);
  expect(out.length).toBe(count);
  return out;
}

const variables = (lines: string[]) => lines.map((l) => /^\s+[✗!] ([A-Z_]+):/.exec(l)?.[1]);

describe("the real process refuses a bad configuration", () => {
  test("many bad values at once: exit 1, one report naming every one, nothing opened or served", async () => {
    const server = await spawnServer({
      NODE_ENV: "production",
      PORT: "abc",
      DATABASE_URL: "mysql://x",
      LOG_LEVEL: "loud",
      REDIS_URL: "http://x",
      CORS_ORIGINS: "*",
      JWT_SECRET: undefined,
      ENCRYPTION_KEY: undefined,
    });
    const code = await server.waitForExit(15_000);
    expect(code).toBe(1);

    const stderr = server.stderr();
    // One report: a single errors heading, every problem under it.
    expect(stderr.match(/Configuration errors \(/g)).toHaveLength(1);
    const errors = variables(section(stderr, "errors"));
    for (const v of [
      "PORT",
      "DATABASE_URL",
      "LOG_LEVEL",
      "REDIS_URL",
      "CORS_ORIGINS",
      "JWT_SECRET",
      "ENCRYPTION_KEY",
    ]) {
      expect(errors).toContain(v);
    }
    // Production advice is a warning, not an error, and is reported in the same run.
    const warnings = variables(section(stderr, "warnings"));
    expect(warnings).toEqual(expect.arrayContaining(["PUBLIC_URL", "METRICS_TOKEN", "RESEND_API_KEY"]));
    expect(errors).not.toContain("METRICS_TOKEN");
    expect(stderr).toContain("Refusing to start");

    // Nothing was started: no listen log, no database file, no generated secrets.
    expect(server.stdout()).not.toContain("listening");
    expect(stderr).not.toContain("listening");
    expect(existsSync(join(server.dataDir, "teamtrack.db"))).toBe(false);
    expect(existsSync(join(server.dataDir, "dev-secrets.json"))).toBe(false);
  });

  test("production without secrets refuses to start, naming JWT_SECRET and ENCRYPTION_KEY", async () => {
    const server = await spawnServer({ NODE_ENV: "production", PUBLIC_URL: "https://tt.example.com" });
    expect(await server.waitForExit(15_000)).toBe(1);
    const errors = section(server.stderr(), "errors");
    expect(variables(errors).sort()).toEqual(["ENCRYPTION_KEY", "JWT_SECRET"]);
    expect(errors.join("\n")).toContain("required in production");
    expect(existsSync(join(server.dataDir, "dev-secrets.json"))).toBe(false);
    expect(existsSync(join(server.dataDir, "teamtrack.db"))).toBe(false);
    // The port it was given never accepted a connection.
    expect(
      await fetch(`${server.url}/health/live`).then(
        () => "answered",
        (err: { code?: string }) => err.code,
      ),
    ).toBe("ECONNREFUSED");
  });

  test("production with its secrets starts", async () => {
    const server = await startServer({
      NODE_ENV: "production",
      JWT_SECRET: JWT,
      ENCRYPTION_KEY: KEY,
      PUBLIC_URL: "https://tt.example.com",
    });
    expect(section(server.stderr(), "errors")).toEqual([]);
    expect(await server.stop()).toBe(0);
  });
});

describe("development secrets", () => {
  test("generated once into DATA_DIR/dev-secrets.json (0600) with a warning, reused on the next start", async () => {
    const dataDir = tempDir();
    const file = join(dataDir, "dev-secrets.json");

    const first = await startServer({ NODE_ENV: "development", DATA_DIR: dataDir });
    expect(first.stderr()).toContain(
      `JWT_SECRET, ENCRYPTION_KEY: not set; using development values generated into ${file}`,
    );
    expect(await first.stop()).toBe(0);

    expect(statSync(file).mode & 0o777).toBe(0o600);
    const before = readFileSync(file, "utf8");
    const mtime = statSync(file).mtimeMs;
    const secrets = JSON.parse(before) as Record<string, string>;
    expect(secrets.JWT_SECRET!.length).toBeGreaterThanOrEqual(32);
    expect(atob(secrets.ENCRYPTION_KEY!).length).toBe(32);
    // What was generated is itself a valid production configuration.
    expect(parseConfig({ NODE_ENV: "production", ...secrets }).errors).toEqual([]);

    const second = await startServer({ NODE_ENV: "development", DATA_DIR: dataDir });
    expect(second.stderr()).toContain(`using development values from ${file}`);
    expect(second.stderr()).not.toContain("generated into");
    expect(await second.stop()).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(before);
    expect(statSync(file).mtimeMs).toBe(mtime);
  });

  test("secrets given in the environment are used and no file is written", async () => {
    const server = await startServer({ NODE_ENV: "development", JWT_SECRET: JWT, ENCRYPTION_KEY: KEY });
    expect(server.stderr()).not.toContain("development values");
    expect(existsSync(join(server.dataDir, "dev-secrets.json"))).toBe(false);
    expect(await server.stop()).toBe(0);
  });
});

describe("parseConfig groups errors and warnings", () => {
  const valid = {
    NODE_ENV: "production",
    JWT_SECRET: JWT,
    ENCRYPTION_KEY: KEY,
    PUBLIC_URL: "https://tt.example.com",
    METRICS_TOKEN: "metrics-token-0123456789",
    RESEND_API_KEY: "re_123",
  };

  test("a complete production configuration has neither", () => {
    const r = parseConfig(valid);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.config?.isProduction).toBe(true);
  });

  test("warnings alone never block start-up", () => {
    const r = parseConfig({
      ...valid,
      PUBLIC_URL: "http://tt.example.com",
      METRICS_TOKEN: undefined,
      RESEND_BASE_URL: "https://mail.example.com",
      RESEND_API_KEY: undefined,
    });
    expect(r.errors).toEqual([]);
    expect(r.config).toBeDefined();
    expect(r.warnings.map((w) => w.variable).sort()).toEqual([
      "METRICS_TOKEN",
      "PUBLIC_URL",
      "RESEND_API_KEY",
      "RESEND_BASE_URL",
    ]);
  });

  test("S3: a bucket needs both keys, a valid endpoint and a prefix of whole segments", () => {
    const partial = parseConfig({ ...valid, S3_BUCKET: "shots", S3_ACCESS_KEY_ID: "AKIA" });
    expect(partial.errors.map((e) => [e.variable, e.message])).toEqual([
      ["S3_SECRET_ACCESS_KEY", "is required with S3_BUCKET"],
    ]);
    const bad = parseConfig({ ...valid, S3_ENDPOINT: "not a url", S3_PREFIX: "no-slash" });
    expect(bad.errors.map((e) => e.variable).sort()).toEqual(["S3_ENDPOINT", "S3_PREFIX"]);
    const shared = parseConfig({
      ...valid,
      DATABASE_URL: "http://sqld.internal:8080",
      S3_BUCKET: "shots",
      S3_ENDPOINT: "https://minio.internal:9000",
      S3_ACCESS_KEY_ID: "AKIA",
      S3_SECRET_ACCESS_KEY: "secret",
      S3_PREFIX: "teamtrack/prod/",
    });
    expect([shared.errors, shared.warnings]).toEqual([[], []]);
    expect(shared.config).toMatchObject({
      S3_BUCKET: "shots",
      S3_REGION: "us-east-1",
      S3_PREFIX: "teamtrack/prod/",
    });
  });

  test("every schema error is reported, not only the first, and warnings are still collected", () => {
    const r = parseConfig({
      NODE_ENV: "production",
      PORT: "70000",
      HOST: "0.0.0.0",
      LOG_LEVEL: "loud",
      DATABASE_URL: "postgres://x",
      REDIS_URL: "http://x",
      JWT_SECRET: "short",
      ENCRYPTION_KEY: "not-base64-32",
      METRICS_TOKEN: "short",
      OPERATOR_TOKEN: "short",
      SHUTDOWN_TIMEOUT_MS: "-1",
      JOBS_ENABLED: "maybe",
    });
    expect(r.config).toBeUndefined();
    expect(r.errors.map((e) => e.variable).sort()).toEqual(
      [
        "DATABASE_URL",
        "ENCRYPTION_KEY",
        "JOBS_ENABLED",
        "JWT_SECRET",
        "LOG_LEVEL",
        "METRICS_TOKEN",
        "OPERATOR_TOKEN",
        "PORT",
        "REDIS_URL",
        "SHUTDOWN_TIMEOUT_MS",
      ].sort(),
    );
    expect(r.warnings.map((w) => w.variable).sort()).toEqual(["PUBLIC_URL", "RESEND_API_KEY"]);
  });

  test("empty values count as unset: an empty secret is 'required', not 'too short'", () => {
    const r = parseConfig({ NODE_ENV: "production", JWT_SECRET: "  ", ENCRYPTION_KEY: "" });
    expect(r.errors).toEqual([
      { variable: "JWT_SECRET", message: "is required in production" },
      { variable: "ENCRYPTION_KEY", message: "ENCRYPTION_KEY or ENCRYPTION_KEYS is required in production" },
    ]);
  });

  test("CORS '*' is an error only in production", () => {
    expect(
      parseConfig({ ...valid, CORS_ORIGINS: "https://a.example, *" }).errors.map((e) => e.variable),
    ).toEqual(["CORS_ORIGINS"]);
    const dev = parseConfig({
      NODE_ENV: "development",
      JWT_SECRET: JWT,
      ENCRYPTION_KEY: KEY,
      CORS_ORIGINS: "*",
    });
    expect(dev.errors).toEqual([]);
    expect(dev.config?.CORS_ORIGINS).toEqual(["*"]);
  });

  test("ENCRYPTION_KEYS wins over ENCRYPTION_KEY with a warning", () => {
    const other = btoa("abcdefghijklmnopqrstuvwxyz012345");
    const r = parseConfig({ ...valid, ENCRYPTION_KEYS: `k2:${other},k1:${KEY}` });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([
      { variable: "ENCRYPTION_KEY", message: "ignored because ENCRYPTION_KEYS is set" },
    ]);
    expect(r.config?.encryptionKeys.map((k) => k.id)).toEqual(["k2", "k1"]);
  });

  test("formatReport prints errors before warnings, one line each, with counts", () => {
    const text = formatReport({
      errors: [
        { variable: "PORT", message: "bad" },
        { variable: "LOG_LEVEL", message: "bad" },
      ],
      warnings: [{ variable: "PUBLIC_URL", message: "unset" }],
    });
    expect(text.split("\n")).toEqual([
      "Configuration errors (2):",
      "  ✗ PORT: bad",
      "  ✗ LOG_LEVEL: bad",
      "Configuration warnings (1):",
      "  ! PUBLIC_URL: unset",
    ]);
    expect(formatReport({ errors: [], warnings: [] })).toBe("");
  });
});
