import { Counter, Histogram, Registry } from "prom-client";
import type { Metrics } from "../../ports/platform";

/**
 * prom-client on a private registry (never the global one, so two app instances in one test process
 * don't share counters). prom-client's default Node metrics are left out: several of them
 * (`nodejs_active_*_total`) fail `promtool check metrics`.
 */
export class PromMetrics implements Metrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  readonly #http: Counter<"method" | "route" | "status">;
  readonly #httpDuration: Histogram<"method" | "route" | "status">;
  readonly #db: Histogram<"operation" | "outcome">;
  readonly #httpChildren = new Map<
    string,
    { count: ReturnType<Counter<string>["labels"]>; duration: ReturnType<Histogram<string>["labels"]> }
  >();
  readonly #dbChildren = new Map<string, ReturnType<Histogram<string>["labels"]>>();
  readonly #jobs: Counter<"job" | "status">;
  readonly #jobDuration: Histogram<"job" | "status">;
  readonly #cache: Counter<"cache" | "result">;

  constructor(defaultLabels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(defaultLabels);
    const registers = [this.registry];
    this.#http = new Counter({
      name: "http_requests_total",
      help: "HTTP requests handled, by route template and status.",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.#httpDuration = new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request duration in seconds, by route template and status.",
      labelNames: ["method", "route", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#db = new Histogram({
      name: "db_query_duration_seconds",
      help: "Database statement duration in seconds, by operation.",
      labelNames: ["operation", "outcome"],
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.#jobs = new Counter({
      name: "job_runs_total",
      help: "Scheduled job runs, by job and outcome.",
      labelNames: ["job", "status"],
      registers,
    });
    this.#jobDuration = new Histogram({
      name: "job_run_duration_seconds",
      help: "Scheduled job run duration in seconds.",
      labelNames: ["job", "status"],
      buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers,
    });
    this.#cache = new Counter({
      name: "cache_requests_total",
      help: "Cache lookups, by cache and result (hit or miss).",
      labelNames: ["cache", "result"],
      registers,
    });
  }

  httpRequest(l: { method: string; route: string; status: number }, seconds: number): void {
    // prom-client hashes a label object on every call; its per-label-set children are kept by key.
    const key = `${l.method} ${l.status} ${l.route}`;
    let child = this.#httpChildren.get(key);
    if (!child) {
      const labels = { method: l.method, route: l.route, status: String(l.status) };
      child = { count: this.#http.labels(labels), duration: this.#httpDuration.labels(labels) };
      // Routes are templates and statuses few, so this stays small; bounded all the same.
      if (this.#httpChildren.size >= 10_000) this.#httpChildren.clear();
      this.#httpChildren.set(key, child);
    }
    child.count.inc();
    child.duration.observe(seconds);
  }

  dbQuery(l: { operation: string; ok: boolean }, seconds: number): void {
    const key = `${l.operation} ${l.ok}`;
    let child = this.#dbChildren.get(key);
    if (!child) {
      child = this.#db.labels({ operation: l.operation, outcome: l.ok ? "ok" : "error" });
      this.#dbChildren.set(key, child);
    }
    child.observe(seconds);
  }

  jobRun(l: { job: string; status: string }, seconds: number): void {
    this.#jobs.inc(l);
    this.#jobDuration.observe(l, seconds);
  }

  cacheAccess(l: { cache: string; hit: boolean }): void {
    this.#cache.inc({ cache: l.cache, result: l.hit ? "hit" : "miss" });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
