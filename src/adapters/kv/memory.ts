import { type Clock, systemClock } from "../../ports/clock";
import type {
  KvStore,
  PubSub,
  RateLimiter,
  RateLimitResult,
  RateLimitRule,
  Unsubscribe,
} from "../../ports/kv";

interface Entry {
  value: string;
  /** Epoch ms; undefined means no TTL. */
  expiresAt: number | undefined;
}

/** Full sweeps run once per this many writes, so abandoned keys are reclaimed at amortised O(1). */
const SWEEP_EVERY = 512;

function checkTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new RangeError(`TTL must be a positive number of ms, got ${ttlMs}`);
  return ttlMs;
}

function parseInteger(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(n))
    throw new Error("value is not an integer or out of range");
  return n;
}

/**
 * In-process KvStore with Redis semantics (SET clears a TTL, INCR keeps it, PTTL's -1/absent).
 * Expiry is read from the injected Clock rather than timers, so tests move time with ManualClock;
 * expired keys are dropped when touched and by a periodic sweep so memory stays bounded.
 * Every method finishes its work before its first await, which makes each call atomic.
 */
export class MemoryKvStore implements KvStore {
  readonly #clock: Clock;
  readonly #map = new Map<string, Entry>();
  #writes = 0;
  #closed = false;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  /** Live key count (after dropping expired ones); for tests and metrics. */
  get size(): number {
    this.sweep();
    return this.#map.size;
  }

  /** Drops every expired key. */
  sweep(): void {
    const now = this.#clock.now().getTime();
    for (const [key, entry] of this.#map) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.#map.delete(key);
    }
  }

  async get(key: string): Promise<string | null> {
    return this.#live(key)?.value ?? null;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.#write(key, value, ttlMs === undefined ? undefined : checkTtl(ttlMs));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    if (this.#live(key)) return false;
    this.#write(key, value, ttlMs);
    return true;
  }

  async delete(key: string): Promise<boolean> {
    return this.#live(key) !== undefined && this.#map.delete(key);
  }

  async deleteIfEquals(key: string, value: string): Promise<boolean> {
    if (this.#live(key)?.value !== value) return false;
    return this.#map.delete(key);
  }

  async getAndDelete(key: string): Promise<string | null> {
    const entry = this.#live(key);
    if (!entry) return null;
    this.#map.delete(key);
    return entry.value;
  }

  async increment(key: string, ttlMs?: number, by = 1): Promise<number> {
    if (ttlMs !== undefined) checkTtl(ttlMs);
    if (!Number.isSafeInteger(by)) throw new RangeError(`increment must be an integer, got ${by}`);
    const entry = this.#live(key);
    if (entry) {
      const next = parseInteger(entry.value) + by;
      if (!Number.isSafeInteger(next)) throw new Error("increment would overflow");
      entry.value = String(next);
      return next;
    }
    this.#write(key, String(by), ttlMs);
    return by;
  }

  async ttl(key: string): Promise<number | null> {
    const entry = this.#live(key);
    if (!entry) return null;
    if (entry.expiresAt === undefined) return -1;
    return entry.expiresAt - this.#clock.now().getTime();
  }

  async ping(): Promise<void> {
    this.#assertOpen();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#map.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("MemoryKvStore is closed");
  }

  #live(key: string): Entry | undefined {
    this.#assertOpen();
    const entry = this.#map.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.#clock.now().getTime()) {
      this.#map.delete(key);
      return undefined;
    }
    return entry;
  }

  #write(key: string, value: string, ttlMs: number | undefined): void {
    this.#assertOpen();
    const expiresAt = ttlMs === undefined ? undefined : this.#clock.now().getTime() + ttlMs;
    this.#map.set(key, { value, expiresAt });
    if (++this.#writes % SWEEP_EVERY === 0) this.sweep();
  }
}

interface Window {
  count: number;
  resetAt: number;
}

/**
 * Fixed-window limiter: the window opens at a key's first hit and lasts `rule.window` ms on the
 * injected Clock. Same algorithm as RedisRateLimiter so behaviour does not change with REDIS_URL.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #clock: Clock;
  readonly #windows = new Map<string, Window>();
  #hits = 0;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  consume(key: string, rule: RateLimitRule): RateLimitResult {
    checkTtl(rule.window);
    const now = this.#clock.ms();
    if (++this.#hits % SWEEP_EVERY === 0) this.#sweep(now);
    let w = this.#windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + rule.window };
      this.#windows.set(key, w);
    }
    w.count++;
    return {
      allowed: w.count <= rule.max,
      limit: rule.max,
      remaining: Math.max(0, rule.max - w.count),
      resetAt: new Date(w.resetAt),
    };
  }

  async reset(key: string): Promise<void> {
    this.#windows.delete(key);
  }

  #sweep(now: number): void {
    for (const [key, w] of this.#windows) if (w.resetAt <= now) this.#windows.delete(key);
  }
}

type Handler = (message: string) => void;

/**
 * In-process fan-out. Delivery is deferred with queueMicrotask so callers see the same ordering as
 * with Redis (publish resolves before handlers run); each handler runs alone so one that throws
 * neither stops the others nor surfaces as an uncaught error — it goes to `onError`.
 */
export class MemoryPubSub implements PubSub {
  readonly #channels = new Map<string, Set<Handler>>();
  readonly #onError: (err: unknown) => void;
  #closed = false;

  constructor(opts: { onError?: (err: unknown) => void } = {}) {
    this.#onError = opts.onError ?? ((err) => console.error("pubsub handler failed", err));
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen();
    const handlers = this.#channels.get(channel);
    if (!handlers) return;
    for (const handler of [...handlers]) {
      queueMicrotask(() => {
        // A handler removed after publish but before delivery must not see the message.
        if (!this.#channels.get(channel)?.has(handler)) return;
        try {
          handler(message);
        } catch (err) {
          this.#onError(err);
        }
      });
    }
  }

  async subscribe(channel: string, handler: Handler): Promise<Unsubscribe> {
    this.#assertOpen();
    // Wrapped so the same function subscribed twice gets two independent subscriptions.
    const own: Handler = (message) => handler(message);
    let handlers = this.#channels.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.#channels.set(channel, handlers);
    }
    handlers.add(own);
    return async () => {
      const set = this.#channels.get(channel);
      if (!set?.delete(own)) return;
      if (set.size === 0) this.#channels.delete(channel);
    };
  }

  deliveryEpoch(channel: string): number | null {
    return this.#closed || !this.#channels.has(channel) ? null : 0;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#channels.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("MemoryPubSub is closed");
  }
}
