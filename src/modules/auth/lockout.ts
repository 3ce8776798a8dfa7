/**
 * Account lockout (SPEC 2.5): wrong passwords are counted per account across all IPs; at the
 * threshold the account is locked, and each further lock within a day lasts twice as long. While
 * locked, login answers exactly as for a wrong password (same status, body and argon2id work), so
 * the lock is not an oracle for "this password was right". The counters live in the KvStore
 * (atomic INCR, Redis when configured), so every instance sees the same count.
 */
import type { Config } from "../../config/env";
import type { KvStore } from "../../ports/kv";

/** How long a lock "level" is remembered for the doubling. */
const LEVEL_MEMORY_MS = 24 * 3_600_000;
const MAX_LOCK_MS = 24 * 3_600_000;

export type LockoutConfig = Pick<
  Config,
  "LOCKOUT_THRESHOLD" | "LOCKOUT_WINDOW_SECONDS" | "LOCKOUT_DURATION_SECONDS"
>;

/**
 * The KvStore is Redis when scaled out. If Redis is unreachable, sign-in must keep working: the
 * lockout fails open (no count, no lock) for the outage while the rate limiter, which falls back to
 * per-instance memory, still bounds guessing. Used for the 2FA counters too.
 */
export async function tolerant<T>(work: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await work();
  } catch {
    return fallback;
  }
}

const failsKey = (userId: string) => `lockout:fails:${userId}`;
const untilKey = (userId: string) => `lockout:until:${userId}`;
const levelKey = (userId: string) => `lockout:level:${userId}`;

/** The lock's end, or null. Called for unknown emails too (with a dummy id) to keep timings equal. */
export async function lockedUntil(kv: KvStore, userId: string): Promise<Date | null> {
  const v = await tolerant(() => kv.get(untilKey(userId)), null);
  return v ? new Date(Number(v)) : null;
}

/** Counts one wrong password; returns the new lock when this failure reached the threshold. */
export async function recordFailure(
  kv: KvStore,
  config: LockoutConfig,
  userId: string,
  now: Date,
): Promise<{ failures: number; until: Date } | null> {
  return tolerant(() => countFailure(kv, config, userId, now), null);
}

async function countFailure(kv: KvStore, config: LockoutConfig, userId: string, now: Date) {
  const failures = await kv.increment(failsKey(userId), config.LOCKOUT_WINDOW_SECONDS * 1000);
  if (failures < config.LOCKOUT_THRESHOLD) return null;
  const level = await kv.increment(levelKey(userId), LEVEL_MEMORY_MS);
  const ms = Math.min(MAX_LOCK_MS, config.LOCKOUT_DURATION_SECONDS * 1000 * 2 ** (level - 1));
  const until = new Date(now.getTime() + ms);
  await kv.set(untilKey(userId), String(until.getTime()), ms);
  await kv.delete(failsKey(userId));
  return { failures, until };
}

/** A correct password outside a lock clears the failure count (the lock level decays on its own). */
export async function clearFailures(kv: KvStore, userId: string): Promise<void> {
  await tolerant(() => kv.delete(failsKey(userId)), false);
}
