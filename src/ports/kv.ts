/**
 * Small shared key-value store (in memory, or Redis when REDIS_URL is set). Every operation that
 * callers need to be atomic is a single call, so no caller ever does get-then-set across instances.
 * TTLs are in milliseconds; a key without a TTL lives until deleted.
 */
export interface KvStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Sets only when the key is absent (SET NX); true when this call wrote it. The basis of locks. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<boolean>;
  /** Deletes only when the stored value equals `value` (releasing a lock you still own). */
  deleteIfEquals(key: string, value: string): Promise<boolean>;
  /** Reads and deletes in one step: a one-time value can be taken by exactly one caller. */
  getAndDelete(key: string): Promise<string | null>;
  /** Adds `by` (default 1) and returns the new value; the TTL is set when the key is created. */
  increment(key: string, ttlMs?: number, by?: number): Promise<number>;
  /** Remaining lifetime in ms; null when the key is absent, -1 when it has no TTL. */
  ttl(key: string): Promise<number | null>;
  /** Round trip to the backing store; throws when it is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface RateLimitRule {
  /** Window length in ms. */
  window: number;
  /** Requests allowed per window. */
  max: number;
}

export interface RateLimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** When the current window ends. */
  resetAt: Date;
}

/** Atomic counter-per-window limiter: one call counts the hit and answers whether it is allowed. */
export interface RateLimiter {
  /** Counts one hit. In-process adapters answer synchronously; callers `await` or use lib/maybe-async. */
  consume(key: string, rule: RateLimitRule): RateLimitResult | Promise<RateLimitResult>;
  /** Forget a key (e.g. after a successful login). */
  reset(key: string): Promise<void>;
}

export type Unsubscribe = () => Promise<void>;

/** Fan-out of messages to every instance (in process, or Redis pub/sub). */
export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe>;
  /**
   * While every message published on `channel` from now on is sure to reach this instance's
   * subscribers: a number that changes whenever delivery was interrupted (a reconnect: messages may
   * have been lost in the gap), so a cache kept in step by messages knows to start over. Null while
   * delivery is not sure (not subscribed or not yet acknowledged, disconnected, closed). In memory:
   * 0 while subscribed.
   */
  deliveryEpoch(channel: string): number | null;
  close(): Promise<void>;
}
