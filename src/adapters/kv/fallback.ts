import type { RateLimiter, RateLimitResult, RateLimitRule } from "../../ports/kv";

export interface FallbackRateLimiterOptions {
  /**
   * Cheap, synchronous "is it worth trying the primary at all" (for Redis: the connection is not
   * reconnecting). False sends the call straight to the fallback without waiting for a timeout.
   */
  available?: () => boolean;
  /** A primary call slower than this counts as a failure (ms). Default 250. */
  timeoutMs?: number;
  /** After a failure, the primary is tried again (by one call at a time) this long later (ms). Default 1000. */
  retryMs?: number;
  /** Monotonic milliseconds for the retry pacing; default performance.now. */
  now?: () => number;
  /** Called once when an outage starts (the first failure after a healthy period). */
  onOutage?: (err: unknown) => void;
  /** Called once when the primary answers again. */
  onRecovery?: () => void;
}

class Timeout extends Error {
  constructor(ms: number) {
    super(`rate limiter did not answer within ${ms} ms`);
  }
}

/**
 * A rate limiter that keeps answering when its shared store (Redis) does not: calls go to the
 * primary, and while it errors, times out or is known to be disconnected they go to a local
 * limiter instead. During an outage each instance therefore enforces the limits on its own
 * (at most N× the limit across N instances) rather than failing requests or letting everything
 * through. The primary is retried by a single call every `retryMs`, so a dead Redis costs at most
 * one slow request per interval; the first success switches back.
 *
 * Pacing uses monotonic wall time, not the app Clock: it measures a dependency, not business time.
 */
export class FallbackRateLimiter implements RateLimiter {
  readonly #primary: RateLimiter;
  readonly #fallback: RateLimiter;
  readonly #available: () => boolean;
  readonly #timeoutMs: number;
  readonly #retryMs: number;
  readonly #now: () => number;
  readonly #onOutage: (err: unknown) => void;
  readonly #onRecovery: () => void;
  #down = false;
  #retryAt = 0;
  #probing = false;

  constructor(primary: RateLimiter, fallback: RateLimiter, opts: FallbackRateLimiterOptions = {}) {
    this.#primary = primary;
    this.#fallback = fallback;
    this.#available = opts.available ?? (() => true);
    this.#timeoutMs = opts.timeoutMs ?? 250;
    this.#retryMs = opts.retryMs ?? 1000;
    this.#now = opts.now ?? (() => performance.now());
    this.#onOutage = opts.onOutage ?? (() => {});
    this.#onRecovery = opts.onRecovery ?? (() => {});
  }

  /** True while calls are served by the fallback. */
  get degraded(): boolean {
    return this.#down;
  }

  async consume(key: string, rule: RateLimitRule): Promise<RateLimitResult> {
    if (!this.#available()) {
      this.#fail(new Error("shared rate-limit store is disconnected"));
      return this.#fallback.consume(key, rule);
    }
    if (this.#down && (this.#probing || this.#now() < this.#retryAt))
      return this.#fallback.consume(key, rule);
    const probe = this.#down;
    if (probe) this.#probing = true;
    try {
      const r = await this.#withTimeout(Promise.resolve(this.#primary.consume(key, rule)));
      if (this.#down) {
        this.#down = false;
        this.#onRecovery();
      }
      return r;
    } catch (err) {
      this.#fail(err);
      return this.#fallback.consume(key, rule);
    } finally {
      if (probe) this.#probing = false;
    }
  }

  async reset(key: string): Promise<void> {
    // Both: a key counted locally during an outage must not survive the reset either.
    await this.#fallback.reset(key);
    if (this.#down || !this.#available()) return;
    try {
      await this.#withTimeout(this.#primary.reset(key));
    } catch (err) {
      this.#fail(err);
    }
  }

  #fail(err: unknown): void {
    this.#retryAt = this.#now() + this.#retryMs;
    if (this.#down) return;
    this.#down = true;
    this.#onOutage(err);
  }

  #withTimeout<T>(p: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Timeout(this.#timeoutMs)), this.#timeoutMs);
    });
    // A late rejection of the abandoned call must not surface as an unhandled rejection.
    p.catch(() => {});
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}
