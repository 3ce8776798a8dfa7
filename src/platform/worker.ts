import { AsyncLocalStorage } from "node:async_hooks";
import { type Client, createClient } from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql/web";
import type { ExecutionContext } from "hono";
import pino from "pino";
import { MemoryBlobStore } from "../adapters/blob/memory";
import { R2BlobStore, type R2BucketLike } from "../adapters/blob/r2";
import { type D1DatabaseLike, openD1 } from "../adapters/db/d1";
import { instrumentClient } from "../adapters/db/libsql-instrument";
import { sha1Hex } from "../adapters/digest/sha1";
import { MemoryKvStore, MemoryPubSub, MemoryRateLimiter } from "../adapters/kv/memory";
import { JsArgon2Hasher } from "../adapters/passwords/argon2-js";
import { type Config, formatReport, parseConfig } from "../config/env";
import type { Db } from "../db/client";
import { migrate } from "../db/migrate";
import { migrations } from "../db/migrations.generated";
import * as schema from "../db/schema";
import { randomBase62 } from "../lib/crypto";
import { systemClock } from "../ports/clock";
import type { Logger, Platform } from "../ports/platform";
import { REDACT_CENSOR, REDACT_PATHS } from "../telemetry/redact";
import { createMailer } from "./mailer";
import { createObservability } from "./observability";

/** Bindings from wrangler.toml: D1, R2, static assets, and plain-text vars and secrets. */
export interface WorkerEnv {
  DB?: D1DatabaseLike;
  BLOBS?: R2BucketLike;
  ASSETS?: { fetch(input: Request | string): Promise<Response> };
  [binding: string]: unknown;
}

/** Where scripts/build-worker.ts puts Scalar's bundle in the assets directory (same URL path as on Bun). */
const SCALAR_ASSET_PATH = "/docs/scalar.js";

/**
 * The ExecutionContext of the invocation now running. The platform lives for the whole isolate, but
 * `waitUntil` belongs to one request or cron event, so `defer` looks it up here (AsyncLocalStorage
 * comes with nodejs_compat).
 */
const invocation = new AsyncLocalStorage<ExecutionContext>();

/** Runs `fn` with `ctx` as the context that `platform.defer` extends. */
export function withExecutionContext<T>(ctx: ExecutionContext, fn: () => T): T {
  return invocation.run(ctx, fn);
}

/**
 * Vars and secrets are the string bindings; production is the default on Workers. Throws with every
 * problem listed (the entry point answers 503 and logs it) instead of exiting like the Bun runtime.
 */
function configFromBindings(env: WorkerEnv): { config: Config; warnings: string[] } {
  const raw: Record<string, string> = { NODE_ENV: "production" };
  for (const [k, v] of Object.entries(env)) if (typeof v === "string") raw[k] = v;
  const report = parseConfig(raw);
  if (!env.DB && !/^(https?|wss?|libsql):\/\//.test(raw.DATABASE_URL ?? ""))
    report.errors.push({
      variable: "DB",
      message: "bind a D1 database as DB, or set DATABASE_URL to a libSQL server",
    });
  if (!report.config || report.errors.length)
    throw new Error(`invalid configuration\n${formatReport(report)}`);
  return { config: report.config, warnings: report.warnings.map((w) => `${w.variable}: ${w.message}`) };
}

/**
 * pino as wrangler bundles it: its browser build (package.json "browser"), which honours `redact`
 * but ignores `base`, `formatters` and destinations, so those are given as browser options and a
 * child's bindings. Each line is one JSON string, like the Bun build's stdout.
 */
export function createWorkerLogger(level: string, base: Record<string, unknown>): Logger {
  const line = (out: (s: string) => void) => (o: object) => out(JSON.stringify(o));
  return pino({
    level,
    redact: { paths: REDACT_PATHS, censor: REDACT_CENSOR },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.err },
    browser: {
      asObject: true,
      serialize: true,
      formatters: { level: (label) => ({ level: label }) },
      write: {
        fatal: line(console.error),
        error: line(console.error),
        warn: line(console.warn),
        info: line(console.log),
        debug: line(console.log),
        trace: line(console.log),
      },
    },
  }).child(base);
}

/** The worker's platform, plus what only the entry point needs. */
export interface WorkerPlatform extends Platform {
  /**
   * Exports finished spans now. Workers cancel an invocation's timers when it ends, so the batch
   * processor's own timer would never fire: the entry point calls this under waitUntil instead.
   */
  flushTelemetry(): Promise<void>;
}

let building: Promise<WorkerPlatform> | undefined;

/**
 * The platform of this isolate, built on first use and then reused: Workers keep an isolate for many
 * requests, so config, db, logger, tracer and caches are made once. Concurrent first requests share
 * one build (and one migration run); a failed build is forgotten so the next request retries.
 * Passing `ctx` keeps that first build alive if the request that started it goes away.
 */
export function createWorkerPlatform(env: WorkerEnv, ctx?: ExecutionContext): Promise<WorkerPlatform> {
  if (!building) {
    building = buildPlatform(env).catch((err: unknown) => {
      building = undefined;
      throw err;
    });
    ctx?.waitUntil(building.catch(() => undefined));
  }
  return building;
}

async function buildPlatform(env: WorkerEnv): Promise<WorkerPlatform> {
  // Set here, not at module scope: Workers' clock reads 0 outside a request.
  const startedAt = Date.now();
  const { config, warnings } = configFromBindings(env);
  const clock = systemClock;
  const instanceId = config.INSTANCE_ID ?? `worker-${randomBase62(8)}`;
  const logger = createWorkerLogger(config.LOG_LEVEL, {
    service: config.OTEL_SERVICE_NAME,
    instance: instanceId,
  });
  if (warnings.length) logger.warn({ warnings }, "configuration warnings");
  const { metrics, tracing, observe } = createObservability(config, {
    instanceId,
    logger,
    dbSystem: env.DB ? "cloudflare-d1" : "sqlite",
  });

  let db: Db;
  let client: Client | undefined;
  if (env.DB) {
    db = openD1(env.DB, observe);
  } else {
    client = createClient({ url: config.databaseUrl, authToken: config.DATABASE_AUTH_TOKEN });
    db = drizzle(instrumentClient(client, observe), { schema }) as unknown as Db;
  }
  if (config.MIGRATE_ON_START) {
    const { applied } = await migrate(db, migrations);
    if (applied.length) logger.info({ applied }, "migrations applied");
  }

  const kv = new MemoryKvStore(clock);
  const pubsub = new MemoryPubSub();
  const pending = new Set<Promise<unknown>>();
  let closed = false;

  const platform: WorkerPlatform = {
    runtime: "worker",
    instanceId,
    config,
    db,
    dbDialect: env.DB ? "d1" : "libsql-remote",
    kv,
    rateLimiter: new MemoryRateLimiter(clock),
    pubsub,
    mailer: createMailer(config, { db, clock, logger }),
    passwords: new JsArgon2Hasher(),
    blobs: env.BLOBS ? new R2BlobStore(env.BLOBS) : new MemoryBlobStore(),
    // sharp is a native module and Workers have no image library: uploads answer 501, stored
    // screenshots (in R2) can still be listed and viewed.
    images: null,
    clock,
    logger,
    metrics,
    tracer: tracing.tracer,
    healthChecks: [],
    system: {
      diskFree: async () => null,
      memory: () => null,
      uptimeSeconds: () => (Date.now() - startedAt) / 1000,
    },
    digest: sha1Hex,
    assets: {
      async scalarBundle() {
        if (!env.ASSETS) return null;
        const res = await env.ASSETS.fetch(new Request(`https://assets.invalid${SCALAR_ASSET_PATH}`));
        return res.ok ? res : null;
      },
    },
    defer(work) {
      const p = work
        .catch((err) => logger.error({ err }, "deferred work failed"))
        .finally(() => pending.delete(p));
      pending.add(p);
      // Without waitUntil the runtime may stop the isolate's work as soon as the response is sent.
      invocation.getStore()?.waitUntil(p);
    },
    async drain() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
    flushTelemetry: () => (config.OTEL_EXPORTER_OTLP_ENDPOINT ? tracing.forceFlush() : Promise.resolve()),
    async close() {
      if (closed) return;
      closed = true;
      await platform.drain();
      await Promise.allSettled([tracing.shutdown(), pubsub.close(), kv.close()]);
      client?.close();
    },
  };
  return platform;
}
