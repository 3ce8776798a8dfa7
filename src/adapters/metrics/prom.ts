import { Counter, Histogram, type Metric, Registry } from "prom-client";
import type { Metrics } from "../../ports/platform";

const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DB_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Label sets kept; route templates and statuses are few, anything past this counts as route "other". */
const HTTP_SERIES_MAX = 10_000;

interface Series {
  labels: Record<string, string>;
  /** Per bucket, not cumulative; the last slot is +Inf. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram (and, for HTTP, its request counter) observed on hot paths: once per request, once
 * per database statement. Why by hand: prom-client hashes the label set and walks its exemplar
 * branches on every `observe`/`inc`, even through a labelled child (profiled at ~10% of a cheap
 * authenticated GET); here an observation costs one Map lookup by a key the caller builds and a
 * bucket increment. prom-client still renders them: each is registered as a custom metric through
 * the registry's `registerMetric` contract (an object with `get()`), so the exposition format,
 * default labels and escaping are its own.
 */
class FastHistogram {
  readonly #series = new Map<string, Series>();

  constructor(private readonly bounds: number[]) {}

  get size(): number {
    return this.#series.size;
  }

  /** Records `seconds` in the series under `key`; false (nothing recorded) when there is none yet. */
  observe(key: string, seconds: number): boolean {
    const s = this.#series.get(key);
    if (!s) return false;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    s.buckets[i]!++;
    s.sum += seconds;
    s.count++;
    return true;
  }

  /** Starts the series `key` with these labels and records `seconds` in it. */
  add(key: string, labels: Record<string, string>, seconds: number): void {
    this.#series.set(key, { labels, buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 });
    this.observe(key, seconds);
  }

  /** The count of every series as a counter (http_requests_total is the request histogram's count). */
  counter(name: string, help: string): Metric {
    return this.#metric(name, help, "counter", () =>
      [...this.#series.values()].map((s) => ({ labels: s.labels, value: s.count })),
    );
  }

  histogram(name: string, help: string): Metric {
    return this.#metric(name, help, "histogram", () =>
      [...this.#series.values()].flatMap((s) => {
        let acc = 0;
        const values = this.bounds.map((le, i) => {
          acc += s.buckets[i]!;
          return { metricName: `${name}_bucket`, labels: { ...s.labels, le }, value: acc };
        });
        values.push({
          metricName: `${name}_bucket`,
          labels: { ...s.labels, le: "+Inf" as never },
          value: s.count,
        });
        values.push({ metricName: `${name}_sum`, labels: s.labels as never, value: s.sum });
        values.push({ metricName: `${name}_count`, labels: s.labels as never, value: s.count });
        return values;
      }),
    );
  }

  #metric(name: string, help: string, type: "counter" | "histogram", values: () => unknown[]): Metric {
    const series = this.#series;
    return {
      name,
      help,
      type,
      aggregator: "sum",
      get: async () => ({ name, help, type, aggregator: "sum", values: values() }),
      reset: () => series.clear(),
    } as unknown as Metric;
  }
}

/**
 * prom-client on a private registry (never the global one, so two app instances in one test process
 * don't share counters). prom-client's default Node metrics are left out: several of them
 * (`nodejs_active_*_total`) fail `promtool check metrics`.
 */
export class PromMetrics implements Metrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  readonly #http = new FastHistogram(HTTP_BUCKETS);
  readonly #db = new FastHistogram(DB_BUCKETS);
  readonly #jobs: Counter<"job" | "status">;
  readonly #jobDuration: Histogram<"job" | "status">;
  readonly #cache: Counter<"cache" | "result">;

  constructor(defaultLabels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(defaultLabels);
    const registers = [this.registry];
    this.registry.registerMetric(
      this.#http.counter("http_requests_total", "HTTP requests handled, by route template and status."),
    );
    this.registry.registerMetric(
      this.#http.histogram(
        "http_request_duration_seconds",
        "HTTP request duration in seconds, by route template and status.",
      ),
    );
    this.registry.registerMetric(
      this.#db.histogram(
        "db_query_duration_seconds",
        "Database statement duration in seconds, by operation.",
      ),
    );
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
    const { method, status } = l;
    const key = `${method} ${status} ${l.route}`;
    if (this.#http.observe(key, seconds)) return;
    // A new label set; past the bound, requests of routes not seen yet count as route "other".
    const route = this.#http.size < HTTP_SERIES_MAX ? l.route : "other";
    const kept = route === l.route ? key : `${method} ${status} ${route}`;
    if (!this.#http.observe(kept, seconds))
      this.#http.add(kept, { method, route, status: String(status) }, seconds);
  }

  dbQuery(l: { operation: string; ok: boolean }, seconds: number): void {
    const key = `${l.operation} ${l.ok}`;
    if (!this.#db.observe(key, seconds))
      this.#db.add(key, { operation: l.operation, outcome: l.ok ? "ok" : "error" }, seconds);
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
