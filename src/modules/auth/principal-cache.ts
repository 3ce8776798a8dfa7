import type { Clock } from "../../ports/clock";
import type { PubSub } from "../../ports/kv";

/** Channel on which instances tell each other which cached principals are stale. */
export const PRINCIPAL_CHANNEL = "auth.principals";

/** What writers need: telling every instance that cached principals changed. */
export type PrincipalInvalidation = Pick<
  PrincipalCache<unknown>,
  "invalidateUser" | "invalidateKey" | "invalidateAll"
>;

/** Cache keys: a session by id, an API/agent token by its SHA-256. */
export const sessionKey = (sessionId: string) => `s:${sessionId}`;
export const tokenKey = (tokenHash: string) => `t:${tokenHash}`;

const ALL = "*";
const USER = "u:";
const KEY = "k:";

interface Entry<V> {
  value: V;
  userId: string;
  storedAt: number;
}

export interface PrincipalCacheStats {
  hits: number;
  misses: number;
  /** Results read from the database that were not stored because an invalidation came meanwhile. */
  refused: number;
  invalidations: number;
  size: number;
}

export interface PrincipalCacheOptions {
  clock: Clock;
  /** How long an entry may be served; 0 turns the cache off (every request reads the database). */
  ttlMs: number;
  maxEntries?: number;
  /** Invalidations reach every instance through it; without it the cache only serves this process. */
  pubsub?: PubSub;
  onError?: (err: unknown) => void;
}

/**
 * The session cache of SPEC 2.2: what the auth middleware reads about a session or API/agent token
 * (owner, organization, current role, revocation, expiry, and the user's and organization's names
 * as `/me` shows them, like Better Auth's cached session + user), kept in process so an
 * authenticated request need not read the database. Correctness rests on invalidation, not the TTL:
 *
 * - Every write that changes what a principal may do or shows (revoking a session or token, a role
 *   change, removal from an organization, joining one, an organization switch, a refresh, password
 *   change/reset, email verification or change, an organization rename) calls `invalidateUser`,
 *   `invalidateKey` or `invalidateAll` after it commits; the entry is dropped here at once and
 *   the message goes to every other instance over `pubsub` (Redis when scaled out), awaited before
 *   the write's response is sent.
 * - A database read that started before an invalidation is not stored after it (`generation`):
 *   otherwise a request racing a revocation could put the revoked state back.
 * - Entries are served only while the pubsub channel is known to deliver (`deliveryEpoch`): while
 *   the subscriber connection is down every request reads the database, and after a reconnect the
 *   cache starts empty, since invalidations may have been lost in the gap.
 * - The TTL bounds what a lost message (a publish that failed) could cost.
 *
 * Where no shared channel exists across instances (Workers isolates, or several processes on a
 * remote database without REDIS_URL), the app builds it with `ttlMs: 0` (src/app.ts).
 */
export class PrincipalCache<V> {
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #pubsub: PubSub | undefined;
  readonly #onError: (err: unknown) => void;
  readonly #entries = new Map<string, Entry<V>>();
  readonly #byUser = new Map<string, Set<string>>();
  #generation = 0;
  #epoch: number | null = null;
  #subscribed = false;
  readonly #stats = { hits: 0, misses: 0, refused: 0, invalidations: 0 };

  constructor(opts: PrincipalCacheOptions) {
    this.#clock = opts.clock;
    this.#ttlMs = Math.max(0, opts.ttlMs);
    this.#max = opts.maxEntries ?? 10_000;
    this.#pubsub = opts.pubsub;
    this.#onError = opts.onError ?? ((err) => console.error("principal cache", err));
  }

  get enabled(): boolean {
    return this.#ttlMs > 0;
  }

  /** Subscribes to other instances' invalidations; until it resolves nothing is served. */
  async start(): Promise<void> {
    if (!this.enabled || this.#subscribed) return;
    if (this.#pubsub) {
      await this.#pubsub.subscribe(PRINCIPAL_CHANNEL, (m) => this.#apply(m));
      this.#epoch = this.#pubsub.deliveryEpoch(PRINCIPAL_CHANNEL);
    }
    this.#subscribed = true;
  }

  /**
   * The cached value (synchronously, so a hit costs the caller no await), else `read()`'s, stored
   * under the user it names unless an invalidation came while it read. Null when `read` finds
   * nothing; that is not cached.
   */
  load(key: string, read: () => Promise<{ userId: string; value: V } | null>): V | Promise<V | null> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const generation = this.#generation;
    return read().then((found) => {
      if (!found) return null;
      this.set(key, found.userId, found.value, generation);
      return found.value;
    });
  }

  /** Take before reading the database; hand to `set` with the result. */
  generation(): number {
    return this.#generation;
  }

  get(key: string): V | undefined {
    if (!this.#usable()) {
      this.#stats.misses++;
      return undefined;
    }
    const entry = this.#entries.get(key);
    if (!entry || this.#clock.ms() - entry.storedAt >= this.#ttlMs) {
      if (entry) this.#drop(key);
      this.#stats.misses++;
      return undefined;
    }
    this.#stats.hits++;
    return entry.value;
  }

  /** Stores a database result, unless an invalidation happened since `generation` was taken. */
  set(key: string, userId: string, value: V, generation: number): void {
    // #usable() first: a new delivery epoch moves the generation, refusing reads from before the gap.
    if (!this.#usable() || generation !== this.#generation) {
      if (this.enabled) this.#stats.refused++;
      return;
    }
    this.#drop(key);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#drop(oldest);
    }
    this.#entries.set(key, { value, userId, storedAt: this.#clock.ms() });
    const keys = this.#byUser.get(userId);
    if (keys) keys.add(key);
    else this.#byUser.set(userId, new Set([key]));
  }

  /** Everything cached for this user (sessions and tokens), here and on every instance. */
  invalidateUser(userId: string): Promise<void> {
    this.#apply(USER + userId);
    return this.#publish(USER + userId);
  }

  /** One cached principal (a session or a token), here and on every instance. */
  invalidateKey(key: string): Promise<void> {
    this.#apply(KEY + key);
    return this.#publish(KEY + key);
  }

  /** Everything (an organization's name or existence changed for all its members). */
  invalidateAll(): Promise<void> {
    this.#apply(ALL);
    return this.#publish(ALL);
  }

  stats(): PrincipalCacheStats {
    return { ...this.#stats, size: this.#entries.size };
  }

  /** Served only while other instances' invalidations are sure to arrive; a new epoch starts empty. */
  #usable(): boolean {
    if (!this.#subscribed) return false;
    if (!this.#pubsub) return true;
    const epoch = this.#pubsub.deliveryEpoch(PRINCIPAL_CHANNEL);
    if (epoch === null) {
      this.#clear();
      return false;
    }
    if (epoch !== this.#epoch) {
      this.#clear();
      this.#epoch = epoch;
    }
    return true;
  }

  #apply(message: string): void {
    if (!this.enabled) return;
    this.#generation++;
    this.#stats.invalidations++;
    if (message === ALL) this.#clear();
    else if (message.startsWith(USER)) {
      const keys = this.#byUser.get(message.slice(USER.length));
      if (keys) for (const key of [...keys]) this.#drop(key);
    } else if (message.startsWith(KEY)) this.#drop(message.slice(KEY.length));
  }

  /** Even with its own cache off, an instance tells the others (they may share its database). */
  async #publish(message: string): Promise<void> {
    if (!this.#pubsub) return;
    try {
      await this.#pubsub.publish(PRINCIPAL_CHANNEL, message);
    } catch (err) {
      // The write has committed; other instances still drop the entry by TTL at the latest.
      this.#onError(err);
    }
  }

  #drop(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    const keys = this.#byUser.get(entry.userId);
    keys?.delete(key);
    if (keys?.size === 0) this.#byUser.delete(entry.userId);
  }

  #clear(): void {
    this.#entries.clear();
    this.#byUser.clear();
    this.#generation++;
  }
}
