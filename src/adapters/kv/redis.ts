import Redis, { type RedisOptions } from "ioredis";
import { type Clock, systemClock } from "../../ports/clock";
import type {
  KvStore,
  PubSub,
  RateLimiter,
  RateLimitResult,
  RateLimitRule,
  Unsubscribe,
} from "../../ports/kv";

export interface CreateRedisOptions extends RedisOptions {
  /** Connection errors (refused, reset, timeouts). Without it ioredis logs each one itself. */
  onError?: (err: Error) => void;
}

/**
 * One ioredis connection tuned to fail fast: with a dead Redis a call rejects within about a second
 * (commandTimeout caps it; maxRetriesPerRequest:1 usually rejects sooner) rather than queueing
 * forever. The offline queue stays on so commands issued before the first handshake completes
 * wait for it instead of failing at startup; reconnection continues in the background.
 */
export function createRedis(url: string, opts: CreateRedisOptions = {}): Redis {
  const { onError, ...options } = opts;
  const redis = new Redis(url, {
    lazyConnect: false,
    connectTimeout: 500,
    commandTimeout: 1000,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    ...options,
  });
  if (onError) redis.on("error", onError);
  return redis;
}

export interface RedisAdapterOptions {
  /** Prepended to every key and channel so several apps or test runs can share one Redis. */
  keyPrefix?: string;
}

/** Resolves once the connection is gone; falls back to a hard disconnect when QUIT cannot be sent. */
async function quit(redis: Redis): Promise<void> {
  if (redis.status === "end") return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

function checkTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new RangeError(`TTL must be a positive number of ms, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}

const DELETE_IF_EQUALS = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const INCREMENT = `
local created = redis.call('EXISTS', KEYS[1]) == 0
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if created and ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return n`;

// A key left without a TTL (it cannot happen through this script, but could by hand) would block
// forever, so the window is re-armed whenever PTTL reports none.
const RATE_LIMIT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}`;

/** The Lua commands registered by `withScripts`; ioredis sends them as EVALSHA with EVAL fallback. */
interface ScriptedRedis extends Redis {
  ttDeleteIfEquals(key: string, value: string): Promise<number>;
  ttIncrement(key: string, by: number, ttlMs: string): Promise<number>;
  ttRateLimit(key: string, windowMs: number): Promise<[number, number]>;
}

function withScripts(redis: Redis): ScriptedRedis {
  const scripted = redis as ScriptedRedis;
  if (typeof scripted.ttRateLimit !== "function") {
    redis.defineCommand("ttDeleteIfEquals", { numberOfKeys: 1, lua: DELETE_IF_EQUALS });
    redis.defineCommand("ttIncrement", { numberOfKeys: 1, lua: INCREMENT });
    redis.defineCommand("ttRateLimit", { numberOfKeys: 1, lua: RATE_LIMIT });
  }
  return scripted;
}

/**
 * KvStore on Redis. It owns the connection it is given: `close()` quits it, so build the
 * RedisRateLimiter (and RedisPubSub's publisher) on the same client and close this store last.
 */
export class RedisKvStore implements KvStore {
  readonly #redis: ScriptedRedis;
  readonly #prefix: string;
  #closing: Promise<void> | undefined;

  constructor(redis: Redis, opts: RedisAdapterOptions = {}) {
    this.#redis = withScripts(redis);
    this.#prefix = opts.keyPrefix ?? "tt:";
  }

  async get(key: string): Promise<string | null> {
    return this.#redis.get(this.#prefix + key);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs === undefined) await this.#redis.set(this.#prefix + key, value);
    else await this.#redis.set(this.#prefix + key, value, "PX", checkTtl(ttlMs));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.set(this.#prefix + key, value, "PX", checkTtl(ttlMs), "NX")) === "OK";
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#redis.del(this.#prefix + key)) > 0;
  }

  async deleteIfEquals(key: string, value: string): Promise<boolean> {
    return (await this.#redis.ttDeleteIfEquals(this.#prefix + key, value)) > 0;
  }

  async getAndDelete(key: string): Promise<string | null> {
    return this.#redis.getdel(this.#prefix + key);
  }

  async increment(key: string, ttlMs?: number, by = 1): Promise<number> {
    if (!Number.isSafeInteger(by)) throw new RangeError(`increment must be an integer, got ${by}`);
    const ttl = ttlMs === undefined ? "" : String(checkTtl(ttlMs));
    return Number(await this.#redis.ttIncrement(this.#prefix + key, by, ttl));
  }

  async ttl(key: string): Promise<number | null> {
    const ms = await this.#redis.pttl(this.#prefix + key);
    if (ms === -2) return null;
    return ms;
  }

  async ping(): Promise<void> {
    await this.#redis.ping();
  }

  close(): Promise<void> {
    this.#closing ??= quit(this.#redis);
    return this.#closing;
  }
}

/**
 * Fixed-window limiter in one Lua call (INCR, PEXPIRE on the first hit, PTTL), so concurrent
 * requests on any number of instances are counted exactly. Does not own the connection.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #redis: ScriptedRedis;
  readonly #prefix: string;
  readonly #clock: Clock;

  constructor(redis: Redis, opts: RedisAdapterOptions & { clock?: Clock } = {}) {
    this.#redis = withScripts(redis);
    this.#prefix = `${opts.keyPrefix ?? "tt:"}rl:`;
    this.#clock = opts.clock ?? systemClock;
  }

  async consume(key: string, rule: RateLimitRule): Promise<RateLimitResult> {
    const [count, pttl] = await this.#redis.ttRateLimit(this.#prefix + key, checkTtl(rule.window));
    return {
      allowed: count <= rule.max,
      limit: rule.max,
      remaining: Math.max(0, rule.max - count),
      resetAt: new Date(this.#clock.now().getTime() + pttl),
    };
  }

  async reset(key: string): Promise<void> {
    await this.#redis.del(this.#prefix + key);
  }
}

type Handler = (message: string) => void;

interface Channel {
  handlers: Set<Handler>;
  /** Settles when SUBSCRIBE is acknowledged; later subscribers await it so none returns early. */
  ready: Promise<unknown>;
  /** The connection epoch under which SUBSCRIBE was acknowledged; null while not (yet, or again). */
  epoch: number | null;
}

/**
 * Pub/sub across instances. Publishes on the shared client it is given (not owned) and subscribes on
 * its own duplicate, because a RESP2 connection in subscriber mode cannot run other commands.
 * Handlers on one channel share a single Redis subscription; handler errors go to `onError`.
 *
 * Delivery is tracked per channel (`deliveryEpoch`): a dropped subscriber connection marks every
 * channel undelivered, and after the reconnect this adapter subscribes again itself (ioredis's
 * autoResubscribe is off because it gives no signal when the new SUBSCRIBE is acknowledged); each
 * such reconnect starts a new epoch, so a cache kept in step by messages knows some may be lost.
 */
export class RedisPubSub implements PubSub {
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #prefix: string;
  readonly #onError: (err: unknown) => void;
  readonly #channels = new Map<string, Channel>();
  #closing: Promise<void> | undefined;
  #epoch = 0;
  #dropped = false;

  constructor(redis: Redis, opts: RedisAdapterOptions & { onError?: (err: unknown) => void } = {}) {
    this.#pub = redis;
    this.#prefix = opts.keyPrefix ?? "tt:";
    this.#onError = opts.onError ?? ((err) => console.error("pubsub handler failed", err));
    // Lazy: an instance that never subscribes never opens the second connection.
    // TCP keepalive, so a silently dead subscriber connection is noticed (and the epoch moves).
    this.#sub = redis.duplicate({ lazyConnect: true, autoResubscribe: false, keepAlive: 10_000 });
    if (opts.onError) this.#sub.on("error", opts.onError);
    this.#sub.on("message", (channel: string, message: string) => this.#deliver(channel, message));
    this.#sub.on("close", () => {
      this.#epoch++;
      this.#dropped = true;
      for (const entry of this.#channels.values()) entry.epoch = null;
    });
    this.#sub.on("ready", () => {
      if (this.#dropped) void this.#resubscribe();
    });
  }

  deliveryEpoch(channel: string): number | null {
    return this.#closing ? null : (this.#channels.get(channel)?.epoch ?? null);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.#pub.publish(this.#prefix + channel, message);
  }

  async subscribe(channel: string, handler: Handler): Promise<Unsubscribe> {
    if (this.#closing) throw new Error("RedisPubSub is closed");
    const own: Handler = (message) => handler(message);
    let entry = this.#channels.get(channel);
    if (!entry) {
      const epoch = this.#epoch;
      const created: Channel = {
        handlers: new Set(),
        epoch: null,
        // Delivered once acknowledged, unless the connection dropped meanwhile (then #resubscribe marks it).
        ready: this.#sub.subscribe(this.#prefix + channel).then(() => {
          if (this.#epoch === epoch) created.epoch = epoch;
        }),
      };
      entry = created;
      this.#channels.set(channel, entry);
    }
    entry.handlers.add(own);
    try {
      await entry.ready;
    } catch (err) {
      // SUBSCRIBE never took effect, so there is nothing to UNSUBSCRIBE.
      entry.handlers.delete(own);
      if (entry.handlers.size === 0 && this.#channels.get(channel) === entry) this.#channels.delete(channel);
      throw err;
    }
    return () => this.#remove(channel, own);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#channels.clear();
      await quit(this.#sub);
    })();
    return this.#closing;
  }

  async #remove(channel: string, handler: Handler): Promise<void> {
    const entry = this.#channels.get(channel);
    if (!entry?.handlers.delete(handler) || entry.handlers.size > 0) return;
    this.#channels.delete(channel);
    if (this.#sub.status !== "end") await this.#sub.unsubscribe(this.#prefix + channel);
  }

  /** After a reconnect: SUBSCRIBE again to every channel, then they count as delivered in the new epoch. */
  async #resubscribe(): Promise<void> {
    this.#dropped = false;
    const epoch = this.#epoch;
    const entries = [...this.#channels.entries()];
    if (entries.length === 0) return;
    try {
      await this.#sub.subscribe(...entries.map(([name]) => this.#prefix + name));
      if (this.#epoch !== epoch) return; // dropped again meanwhile; the next "ready" retries
      for (const [, entry] of entries) entry.epoch = epoch;
    } catch (err) {
      this.#onError(err);
    }
  }

  #deliver(prefixed: string, message: string): void {
    if (!prefixed.startsWith(this.#prefix)) return;
    const entry = this.#channels.get(prefixed.slice(this.#prefix.length));
    if (!entry) return;
    for (const handler of [...entry.handlers]) {
      try {
        handler(message);
      } catch (err) {
        this.#onError(err);
      }
    }
  }
}
