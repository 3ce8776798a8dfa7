import type { Tracer } from "@opentelemetry/api";
import type { Logger } from "pino";
import type { Config } from "../config/env";
import type { Db, DbDialect } from "../db/client";
import type { BlobStore } from "./blob";
import type { Clock } from "./clock";
import type { ImageProcessor } from "./images";
import type { KvStore, PubSub, RateLimiter } from "./kv";
import type { Mailer } from "./mail";
import type { PasswordHasher } from "./passwords";

export type { Logger };

/** Prometheus-style recording; the Bun build uses prom-client, tests read the same registry. */
export interface Metrics {
  readonly contentType: string;
  httpRequest(labels: { method: string; route: string; status: number }, seconds: number): void;
  dbQuery(labels: { operation: string; ok: boolean }, seconds: number): void;
  jobRun(labels: { job: string; status: string }, seconds: number): void;
  cacheAccess(labels: { cache: string; hit: boolean }): void;
  /** Exposition text (Prometheus 0.0.4 format). */
  render(): Promise<string>;
}

/** Host facts for /health/detailed; null where the runtime cannot tell (Workers has no disk). */
export interface SystemInfo {
  diskFree(): Promise<{ freeBytes: number; totalBytes: number } | null>;
  memory(): { rssBytes: number; heapUsedBytes: number } | null;
  uptimeSeconds(): number;
}

/** A readiness probe; throws (with a short reason) when its dependency is not usable. */
export interface HealthCheck {
  name: string;
  check(): Promise<void>;
}

/** Static files the app serves itself (offline docs bundle). */
export interface Assets {
  /** The Scalar API reference browser bundle, or null when this build does not ship it. */
  scalarBundle(): Promise<Response | null>;
}

/**
 * Everything the app needs from its runtime, built once per process or isolate and handed to
 * `createApp`. Only src/runtime, src/platform and src/adapters know how each part is made.
 */
export interface Platform {
  runtime: "bun" | "worker" | "memory";
  /** Stable for this process/isolate: names it in job runs, logs and traces. */
  instanceId: string;
  config: Config;
  db: Db;
  dbDialect: DbDialect;
  kv: KvStore;
  rateLimiter: RateLimiter;
  pubsub: PubSub;
  mailer: Mailer;
  passwords: PasswordHasher;
  blobs: BlobStore;
  /** Screenshot conversion (sharp on Bun); null where the runtime has none (Workers: uploads answer 501). */
  images: ImageProcessor | null;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  tracer: Tracer;
  system: SystemInfo;
  assets: Assets;
  /** Hex digest of a response body for its ETag; synchronous (adapters/digest: XXH3 on Bun, SHA-1 on Workers). */
  digest(data: string | Uint8Array): string;
  /** Readiness checks beyond the database (e.g. Redis). */
  healthChecks: HealthCheck[];
  /** Run work after the response without making the client wait (`ctx.waitUntil` on Workers). */
  defer(work: Promise<unknown>): void;
  /** Resolves when all deferred work so far has settled (graceful shutdown, tests). */
  drain(): Promise<void>;
  /** Flush telemetry and close connections. Idempotent. */
  close(): Promise<void>;
}
