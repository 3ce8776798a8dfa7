import { and, count, eq, gt, isNotNull, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { backupCodes, mfaChallenges, twoFactor, users } from "../../db/schema";

export type TwoFactorRow = typeof twoFactor.$inferSelect;

export async function findTwoFactor(db: Db, userId: string): Promise<TwoFactorRow | null> {
  const [row] = await db.select().from(twoFactor).where(eq(twoFactor.userId, userId)).limit(1);
  return row ?? null;
}

/** Whether login must ask for a second factor (one indexed read). */
export async function isEnabled(db: Db, userId: string): Promise<boolean> {
  const [row] = await db
    .select({ userId: twoFactor.userId })
    .from(twoFactor)
    .where(and(eq(twoFactor.userId, userId), isNotNull(twoFactor.enabledAt)))
    .limit(1);
  return row !== undefined;
}

/** Starts (or restarts) enrolment with a new secret; only while 2FA is not enabled. */
export async function upsertPending(db: Db, userId: string, secretCiphertext: string, now: Date) {
  const rows = await db
    .insert(twoFactor)
    .values({ userId, secretCiphertext, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({
      target: twoFactor.userId,
      set: { secretCiphertext, lastUsedStep: null, createdAt: now, updatedAt: now },
      setWhere: isNull(twoFactor.enabledAt),
    })
    .returning({ userId: twoFactor.userId });
  return rows.length === 1;
}

/**
 * Claims TOTP step `step` for the user: succeeds only when it is later than the last accepted
 * step, in one conditional UPDATE, so two concurrent requests with the same code cannot both pass.
 */
export async function claimStep(db: Db, userId: string, step: number, now: Date): Promise<boolean> {
  const rows = await db
    .update(twoFactor)
    .set({ lastUsedStep: step, updatedAt: now })
    .where(
      and(eq(twoFactor.userId, userId), or(isNull(twoFactor.lastUsedStep), lt(twoFactor.lastUsedStep, step))),
    )
    .returning({ userId: twoFactor.userId });
  return rows.length === 1;
}

/** Enables 2FA and stores a fresh set of backup code hashes in one batch. */
export async function enable(
  db: Db,
  userId: string,
  codeRows: { id: string; codeHash: string }[],
  now: Date,
): Promise<void> {
  await db.batch([
    db.update(twoFactor).set({ enabledAt: now, updatedAt: now }).where(eq(twoFactor.userId, userId)),
    db.delete(backupCodes).where(eq(backupCodes.userId, userId)),
    db.insert(backupCodes).values(codeRows.map((r) => ({ ...r, userId, createdAt: now }))),
  ]);
}

export async function replaceBackupCodes(
  db: Db,
  userId: string,
  codeRows: { id: string; codeHash: string }[],
  now: Date,
): Promise<void> {
  await db.batch([
    db.delete(backupCodes).where(eq(backupCodes.userId, userId)),
    db.insert(backupCodes).values(codeRows.map((r) => ({ ...r, userId, createdAt: now }))),
  ]);
}

/** Turns 2FA off: the secret, the backup codes and any open challenges go in one batch. */
export async function disable(db: Db, userId: string): Promise<void> {
  await db.batch([
    db.delete(twoFactor).where(eq(twoFactor.userId, userId)),
    db.delete(backupCodes).where(eq(backupCodes.userId, userId)),
    db.delete(mfaChallenges).where(eq(mfaChallenges.userId, userId)),
  ]);
}

/** Uses a backup code once: a conditional UPDATE, so it cannot be spent twice concurrently. */
export async function claimBackupCode(db: Db, userId: string, codeHash: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(backupCodes)
    .set({ usedAt: now })
    .where(
      and(eq(backupCodes.userId, userId), eq(backupCodes.codeHash, codeHash), isNull(backupCodes.usedAt)),
    )
    .returning({ id: backupCodes.id });
  return rows.length === 1;
}

export async function unusedBackupCodes(db: Db, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(backupCodes)
    .where(and(eq(backupCodes.userId, userId), isNull(backupCodes.usedAt)));
  return row?.n ?? 0;
}

export async function insertChallenge(db: Db, row: typeof mfaChallenges.$inferInsert): Promise<void> {
  await db.insert(mfaChallenges).values(row);
}

/** A challenge that can still be answered: not used, not expired, attempts left. */
export async function findOpenChallenge(db: Db, tokenHash: string, now: Date, maxAttempts: number) {
  const [row] = await db
    .select({ challenge: mfaChallenges, user: users })
    .from(mfaChallenges)
    .innerJoin(users, eq(users.id, mfaChallenges.userId))
    .where(
      and(
        eq(mfaChallenges.tokenHash, tokenHash),
        isNull(mfaChallenges.usedAt),
        gt(mfaChallenges.expiresAt, now),
        lt(mfaChallenges.attempts, maxAttempts),
      ),
    )
    .limit(1);
  return row ?? null;
}

/** Counts a wrong code against the challenge; returns the attempts used so far. */
export async function countChallengeFailure(db: Db, id: string): Promise<number> {
  const [row] = await db
    .update(mfaChallenges)
    .set({ attempts: sql`${mfaChallenges.attempts} + 1` })
    .where(eq(mfaChallenges.id, id))
    .returning({ attempts: mfaChallenges.attempts });
  return row?.attempts ?? Number.POSITIVE_INFINITY;
}

/** Marks the challenge used (single use): true for exactly one caller. */
export async function consumeChallenge(db: Db, id: string, now: Date, maxAttempts: number): Promise<boolean> {
  const rows = await db
    .update(mfaChallenges)
    .set({ usedAt: now })
    .where(
      and(
        eq(mfaChallenges.id, id),
        isNull(mfaChallenges.usedAt),
        gt(mfaChallenges.expiresAt, now),
        lt(mfaChallenges.attempts, maxAttempts),
      ),
    )
    .returning({ id: mfaChallenges.id });
  return rows.length === 1;
}

/** Expired or used challenges (the token-cleanup job). */
export async function deleteStaleChallenges(db: Db, now: Date): Promise<number> {
  const rows = await db
    .delete(mfaChallenges)
    .where(or(lt(mfaChallenges.expiresAt, now), isNotNull(mfaChallenges.usedAt)))
    .returning({ id: mfaChallenges.id });
  return rows.length;
}

/** Every stored TOTP secret (for key rotation), in pages by user id. */
export async function secretsPage(db: Db, afterUserId: string, limit: number) {
  return db
    .select({ userId: twoFactor.userId, secretCiphertext: twoFactor.secretCiphertext })
    .from(twoFactor)
    .where(gt(twoFactor.userId, afterUserId))
    .orderBy(twoFactor.userId)
    .limit(limit);
}

/** Compare-and-swap of one ciphertext (a concurrent re-enrolment wins over the rotation job). */
export async function replaceSecret(db: Db, userId: string, from: string, to: string): Promise<boolean> {
  const rows = await db
    .update(twoFactor)
    .set({ secretCiphertext: to })
    .where(and(eq(twoFactor.userId, userId), eq(twoFactor.secretCiphertext, from)))
    .returning({ userId: twoFactor.userId });
  return rows.length === 1;
}
