import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { Argon2Hasher } from "../../src/adapters/passwords/argon2";
import { createApp } from "../../src/app";
import { type Config, parseConfig } from "../../src/config/env";
import { createBunPlatform } from "../../src/platform/bun";
import { ManualClock } from "../../src/ports/clock";
import type { PasswordHasher } from "../../src/ports/passwords";
import type { Platform } from "../../src/ports/platform";

export const TEST_OPERATOR_TOKEN = "op_test_token_0123456789abcdef0123456789";
export const TEST_METRICS_TOKEN = "metrics_test_token_0123456789";

/** Valid configuration for tests; `env` overrides any variable. */
export function testConfig(env: Record<string, string> = {}): Config {
  const report = parseConfig({
    NODE_ENV: "test",
    DATABASE_URL: ":memory:",
    JWT_SECRET: "test-jwt-secret-0123456789abcdef0123456789",
    ENCRYPTION_KEY: btoa("0123456789abcdef0123456789abcdef"),
    OPERATOR_TOKEN: TEST_OPERATOR_TOKEN,
    METRICS_TOKEN: TEST_METRICS_TOKEN,
    LOG_LEVEL: "info",
    JOBS_ENABLED: "false",
    ...env,
  });
  if (!report.config) throw new Error(`bad test config: ${JSON.stringify(report.errors)}`);
  return report.config;
}

/** Collects every log line as parsed JSON. */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  write(chunk: string): void {
    for (const line of chunk.split("\n")) {
      if (!line.trim()) continue;
      this.raw.push(line);
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  }
  text(): string {
    return this.raw.join("\n");
  }
}

export interface TestApp {
  app: ReturnType<typeof createApp>["app"];
  services: ReturnType<typeof createApp>["services"];
  platform: Platform;
  clock: ManualClock;
  logs: LogCapture;
  spans: InMemorySpanExporter;
  /** `app.request` with the operator token. */
  asOperator(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** A fresh app on an in-memory database, manual clock, captured logs and spans. */
export async function createTestApp(
  env: Record<string, string> = {},
  opts: { clock?: ManualClock; migrate?: boolean; passwords?: PasswordHasher } = {},
): Promise<TestApp> {
  const clock = opts.clock ?? new ManualClock();
  const logs = new LogCapture();
  const spans = new InMemorySpanExporter();
  const platform = await createBunPlatform(testConfig(env), {
    clock,
    logDestination: logs,
    spanExporter: spans,
    migrate: opts.migrate ?? true,
    // Cheap argon2id parameters keep suites that seed many users fast; pass the real hasher to test it.
    passwords: opts.passwords ?? new Argon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 }),
    runtime: "memory",
  });
  const { app, services } = createApp(platform);
  return {
    app,
    services,
    platform,
    clock,
    logs,
    spans,
    asOperator: async (path, init = {}) =>
      app.request(path, {
        ...init,
        headers: {
          authorization: `Bearer ${TEST_OPERATOR_TOKEN}`,
          ...(init.headers as Record<string, string>),
        },
      }),
    close: () => platform.close(),
  };
}

/** Runs a job once as an operator would (manual trigger), waits for deferred work, returns its result. */
export async function runJob(t: TestApp, id: string): Promise<Record<string, unknown>> {
  const out = await t.services.jobs.run(id, { trigger: "manual" });
  if (out.status !== "succeeded") throw new Error(`${id}: ${JSON.stringify(out)}`);
  await t.platform.drain();
  return JSON.parse(out.run.result ?? "{}") as Record<string, unknown>;
}
