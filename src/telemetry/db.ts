import { SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import type { Logger, Metrics } from "../ports/platform";

/** Wraps one database round trip: span, duration histogram, slow-query log. */
export type QueryObserver = <T>(operation: string, sql: string, run: () => Promise<T>) => Promise<T>;

/** Whether spans of this tracer record anything (false for the no-op tracer used when nothing exports). */
export function isRecordingTracer(tracer: Tracer): boolean {
  const probe = tracer.startSpan("probe");
  const recording = probe.isRecording();
  probe.end();
  return recording;
}

export function sqlOperation(sql: string): string {
  const m = /^\s*(?:--[^\n]*\n\s*)*(\w+)/.exec(sql);
  const op = m?.[1]?.toLowerCase() ?? "other";
  return ["select", "insert", "update", "delete", "pragma", "create", "with", "begin", "vacuum"].includes(op)
    ? op
    : "other";
}

export function createQueryObserver(deps: {
  tracer: Tracer;
  metrics: Metrics;
  logger: Logger;
  slowQueryMs: number;
  system: string;
}): QueryObserver {
  const { tracer, metrics, logger, slowQueryMs, system } = deps;
  const record = (operation: string, sql: string, started: number, ok: boolean) => {
    const ms = performance.now() - started;
    metrics.dbQuery({ operation, ok }, ms / 1000);
    if (ms > slowQueryMs) logger.warn({ durationMs: Math.round(ms), sql: sql.slice(0, 500) }, "slow query");
  };
  // The duration histogram and the slow-query log; with tracing off, nothing more.
  const measured: QueryObserver = async (operation, sql, run) => {
    const started = performance.now();
    let ok = true;
    try {
      return await run();
    } catch (err) {
      ok = false;
      throw err;
    } finally {
      record(operation, sql, started, ok);
    }
  };
  if (!isRecordingTracer(tracer)) return measured;
  return (operation, sql, run) =>
    tracer.startActiveSpan(
      `db.${operation}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "db.system.name": system,
          "db.operation.name": operation,
          "db.query.text": sql.slice(0, 2000),
        },
      },
      async (span) => {
        try {
          return await measured(operation, sql, run);
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          throw err;
        } finally {
          span.end();
        }
      },
    );
}
