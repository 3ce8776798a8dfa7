import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import { PromMetrics } from "../adapters/metrics/prom";
import type { Config } from "../config/env";
import type { Logger } from "../ports/platform";
import { createQueryObserver, type QueryObserver } from "../telemetry/db";
import { createTracing, type Tracing } from "./telemetry";

/** Metrics, tracing and the DB query observer: the same wiring for every runtime. */
export function createObservability(
  config: Config,
  opts: { instanceId: string; logger: Logger; dbSystem: string; spanExporter?: SpanExporter },
): { metrics: PromMetrics; tracing: Tracing; observe: QueryObserver } {
  const metrics = new PromMetrics();
  const tracing = createTracing({
    serviceName: config.OTEL_SERVICE_NAME,
    version: config.version,
    instanceId: opts.instanceId,
    environment: config.NODE_ENV,
    otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    exporter: opts.spanExporter,
  });
  const observe = createQueryObserver({
    tracer: tracing.tracer,
    metrics,
    logger: opts.logger,
    slowQueryMs: config.SLOW_QUERY_MS,
    system: opts.dbSystem,
  });
  return { metrics, tracing, observe };
}
