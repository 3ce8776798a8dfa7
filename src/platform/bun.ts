import { mkdirSync } from "node:fs";
import { statfs } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { DestinationStream } from "pino";
import { FsBlobStore } from "../adapters/blob/fs";
import { MemoryBlobStore } from "../adapters/blob/memory";
import { S3BlobStore } from "../adapters/blob/s3";
import { fileUrlPath, openLibsql } from "../adapters/db/libsql";
import { xxh3Hex } from "../adapters/digest/xxh3";
import { SharpImageProcessor } from "../adapters/images/sharp";
import { FallbackRateLimiter } from "../adapters/kv/fallback";
import { MemoryKvStore, MemoryPubSub, MemoryRateLimiter } from "../adapters/kv/memory";
import { createRedis, RedisKvStore, RedisPubSub, RedisRateLimiter } from "../adapters/kv/redis";
import { Argon2Hasher } from "../adapters/passwords/argon2";
import type { Config } from "../config/env";
import { migrate } from "../db/migrate";
import { migrations } from "../db/migrations.generated";
import { randomBase62 } from "../lib/crypto";
import type { BlobStore } from "../ports/blob";
import { type Clock, systemClock } from "../ports/clock";
import type { ImageProcessor } from "../ports/images";
import type { PasswordHasher } from "../ports/passwords";
import type { HealthCheck, Platform } from "../ports/platform";
import { createLogger } from "./logger";
import { createMailer } from "./mailer";
import { createObservability } from "./observability";

export interface BunPlatformOptions {
  clock?: Clock;
  /** Extra span exporter (tests: InMemorySpanExporter). */
  spanExporter?: SpanExporter;
  /** Log destination (tests capture logs). */
  logDestination?: DestinationStream;
  /** Blob store override; default: S3 when S3_BUCKET is set, else DATA_DIR/blobs (memory for :memory:). */
  blobs?: BlobStore;
  /** Image processor override; null disables screenshot uploads (as on Workers). */
  images?: ImageProcessor | null;
  /** Apply pending migrations before returning (default: config.MIGRATE_ON_START). */
  migrate?: boolean;
  runtime?: "bun" | "memory";
  /** Password hasher override (tests use cheaper argon2 parameters). */
  passwords?: PasswordHasher;
}

/** Builds the platform for a Bun process: libSQL (file, memory or server), memory or Redis state. */
/** S3 when S3_BUCKET is set; else files under DATA_DIR/blobs (memory for an in-memory database). */
function blobStore(config: Config, dialect: Platform["dbDialect"]): BlobStore {
  if (config.S3_BUCKET)
    return new S3BlobStore({
      bucket: config.S3_BUCKET,
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      accessKeyId: config.S3_ACCESS_KEY_ID ?? "",
      secretAccessKey: config.S3_SECRET_ACCESS_KEY ?? "",
      prefix: config.S3_PREFIX,
    });
  return dialect === "libsql-memory"
    ? new MemoryBlobStore()
    : new FsBlobStore(join(config.DATA_DIR, "blobs"));
}

export async function createBunPlatform(config: Config, opts: BunPlatformOptions = {}): Promise<Platform> {
  const clock = opts.clock ?? systemClock;
  const instanceId =
    config.INSTANCE_ID ?? `${(process.env.HOSTNAME ?? "tt").slice(0, 24)}-${randomBase62(6)}`;
  const logger = createLogger({
    level: config.LOG_LEVEL,
    base: { service: config.OTEL_SERVICE_NAME, instance: instanceId },
    destination: opts.logDestination,
  });
  const { metrics, tracing, observe } = createObservability(config, {
    instanceId,
    logger,
    spanExporter: opts.spanExporter,
    dbSystem: "sqlite",
  });

  if (config.databaseUrl.startsWith("file:"))
    mkdirSync(dirname(fileUrlPath(config.databaseUrl)), { recursive: true });
  const { db, client, dialect, checkpointer, writeThread } = await openLibsql({
    url: config.databaseUrl,
    authToken: config.DATABASE_AUTH_TOKEN,
    observe,
    checkpointIntervalMs: config.DB_CHECKPOINT_INTERVAL_MS,
    onCheckpointerError: (err) =>
      logger.warn({ err }, "background WAL checkpoints unavailable; SQLite checkpoints during commits"),
    writeThread: config.DB_WRITE_THREAD,
    onWriteThreadError: (err) =>
      logger.warn({ err }, "write thread unavailable; ingest commits on the server's connection"),
  });
  if (opts.migrate ?? config.MIGRATE_ON_START) {
    const { applied } = await migrate(db, migrations);
    if (applied.length) logger.info({ applied }, "migrations applied");
  }

  const healthChecks: HealthCheck[] = [];
  let kv: Platform["kv"];
  let rateLimiter: Platform["rateLimiter"];
  let pubsub: Platform["pubsub"];
  if (config.REDIS_URL) {
    // ioredis reports every failed reconnect; one warning per 30 s is enough to see an outage.
    let lastWarn = 0;
    const onError = (err: unknown) => {
      if (Date.now() - lastWarn < 30_000) return;
      lastWarn = Date.now();
      logger.warn({ err: { message: (err as Error).message } }, "redis error");
    };
    const redis = createRedis(config.REDIS_URL, { onError });
    const keyPrefix = config.REDIS_KEY_PREFIX;
    kv = new RedisKvStore(redis, { keyPrefix });
    // Limits keep answering through a Redis outage: local counters meanwhile, Redis again once it is back.
    rateLimiter = new FallbackRateLimiter(
      new RedisRateLimiter(redis, { clock, keyPrefix }),
      new MemoryRateLimiter(clock),
      {
        available: () => !["reconnecting", "close", "end"].includes(redis.status),
        onOutage: (err) =>
          logger.warn(
            { err: { message: (err as Error).message } },
            "redis unavailable: rate limits fall back to this instance's memory",
          ),
        onRecovery: () => logger.info("redis is back: rate limits are shared again"),
      },
    );
    pubsub = new RedisPubSub(redis, { onError, keyPrefix });
    healthChecks.push({ name: "redis", check: () => kv.ping() });
  } else {
    kv = new MemoryKvStore(clock);
    rateLimiter = new MemoryRateLimiter(clock);
    pubsub = new MemoryPubSub();
  }

  const blobs = opts.blobs ?? blobStore(config, dialect);
  if (blobs instanceof S3BlobStore) healthChecks.push({ name: "blobs", check: () => blobs.ping() });
  else if (dialect === "libsql-remote" && !opts.blobs)
    logger.warn(
      { variable: "S3_BUCKET" },
      "S3_BUCKET unset with a database server: screenshots go to this instance's DATA_DIR, which other instances do not see",
    );
  const pending = new Set<Promise<unknown>>();
  const scalarPath = join(
    dirname(Bun.resolveSync("@scalar/api-reference", import.meta.dir)),
    "browser",
    "standalone.js",
  );
  let closed = false;

  const platform: Platform = {
    runtime: opts.runtime ?? "bun",
    instanceId,
    config,
    db,
    dbDialect: dialect,
    kv,
    rateLimiter,
    pubsub,
    mailer: createMailer(config, { db, clock, logger }),
    passwords: opts.passwords ?? new Argon2Hasher(),
    blobs,
    images: opts.images === undefined ? new SharpImageProcessor() : opts.images,
    clock,
    logger,
    metrics,
    tracer: tracing.tracer,
    healthChecks,
    system: {
      async diskFree() {
        const s = await statfs(config.DATA_DIR).catch(() => statfs("."));
        return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
      },
      memory() {
        const m = process.memoryUsage();
        return { rssBytes: m.rss, heapUsedBytes: m.heapUsed };
      },
      uptimeSeconds: () => process.uptime(),
    },
    digest: xxh3Hex,
    assets: {
      async scalarBundle() {
        const file = Bun.file(scalarPath);
        return (await file.exists()) ? new Response(file) : null;
      },
    },
    defer(work) {
      const p = work
        .catch((err) => logger.error({ err }, "deferred work failed"))
        .finally(() => pending.delete(p));
      pending.add(p);
    },
    async drain() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
    async close() {
      if (closed) return;
      closed = true;
      await platform.drain();
      // The KvStore owns the shared Redis connection: close it after what uses it.
      await Promise.allSettled([tracing.shutdown(), pubsub.close()]);
      await kv.close().catch(() => {});
      await writeThread?.close();
      await checkpointer?.close();
      client.close();
      logger.flush?.();
    },
  };
  return platform;
}
