import { and, eq, exists, gt, isNull, ne, not, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Db } from "../../db/client";
import { memberships, users, verificationTokens } from "../../db/schema";
import { newId } from "../../lib/ids";

/**
 * Storage of email-verification and password-reset tokens. Users are global (not org data), so
 * these queries are keyed by user id or token hash; only `orgIdsOf` touches memberships.
 */
export type TokenPurpose = (typeof verificationTokens.$inferSelect)["purpose"];

const vt = verificationTokens;

export interface AccountUser {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  emailVerifiedAt: Date | null;
}

const userColumns = {
  id: users.id,
  email: users.email,
  name: users.name,
  passwordHash: users.passwordHash,
  emailVerifiedAt: users.emailVerifiedAt,
};

export async function findUserById(db: Db, id: string): Promise<AccountUser | null> {
  const [row] = await db.select(userColumns).from(users).where(eq(users.id, id)).limit(1);
  return row ?? null;
}

export async function findUserByEmail(db: Db, email: string): Promise<AccountUser | null> {
  const [row] = await db.select(userColumns).from(users).where(eq(users.email, email)).limit(1);
  return row ?? null;
}

/** Organizations the user belongs to: auth events are audited in each of them. */
export async function orgIdsOf(db: Db, userId: string): Promise<string[]> {
  const rows = await db
    .select({ orgId: memberships.orgId })
    .from(memberships)
    .where(eq(memberships.userId, userId));
  return rows.map((r) => r.orgId);
}

/** A token is usable when its hash matches, it is unused, unexpired, and was sent to the user's current address. */
function usable(db: Db, tokenHash: string, purpose: TokenPurpose, now: Date) {
  return exists(
    db
      .select({ one: sql`1` })
      .from(vt)
      .where(
        and(
          eq(vt.tokenHash, tokenHash),
          eq(vt.purpose, purpose),
          isNull(vt.usedAt),
          gt(vt.expiresAt, now),
          eq(vt.userId, users.id),
          eq(vt.email, users.email),
        ),
      ),
  );
}

/**
 * Stores a new token. With `supersede`, the user's older unused tokens of the same purpose are
 * expired in the same atomic batch, so of two racing requests the later one's token is the only
 * one left (newest wins).
 */
export async function insertToken(
  db: Db,
  t: { userId: string; email: string; purpose: TokenPurpose; tokenHash: string; now: Date; ttlMs: number },
  opts: { supersede: boolean },
): Promise<void> {
  const insert = db.insert(vt).values({
    id: newId("verification", t.now),
    userId: t.userId,
    purpose: t.purpose,
    tokenHash: t.tokenHash,
    email: t.email,
    createdAt: t.now,
    expiresAt: new Date(t.now.getTime() + t.ttlMs),
  });
  if (!opts.supersede) {
    await insert;
    return;
  }
  await db.batch([
    db
      .update(vt)
      .set({ expiresAt: t.now })
      .where(
        and(eq(vt.userId, t.userId), eq(vt.purpose, t.purpose), isNull(vt.usedAt), gt(vt.expiresAt, t.now)),
      ),
    insert,
  ]);
}

/** The user a still-usable token belongs to (read only; claiming is separate and atomic). */
export async function findTokenUser(
  db: Db,
  tokenHash: string,
  purpose: TokenPurpose,
  now: Date,
): Promise<AccountUser | null> {
  const [row] = await db
    .select(userColumns)
    .from(vt)
    .innerJoin(users, and(eq(users.id, vt.userId), eq(users.email, vt.email)))
    .where(
      and(eq(vt.tokenHash, tokenHash), eq(vt.purpose, purpose), isNull(vt.usedAt), gt(vt.expiresAt, now)),
    )
    .limit(1);
  return row ?? null;
}

function claim(db: Db, tokenHash: string, purpose: TokenPurpose, now: Date) {
  return db
    .update(vt)
    .set({ usedAt: now })
    .where(
      and(eq(vt.tokenHash, tokenHash), eq(vt.purpose, purpose), isNull(vt.usedAt), gt(vt.expiresAt, now)),
    )
    .returning({ userId: vt.userId, email: vt.email });
}

/**
 * Marks the address verified and uses the token up, in one atomic batch: the user row changes
 * only while the token is still usable, and the claim's row count says whether this call won.
 * Returns the user id, or null when the token was unknown, expired, used or for an old address.
 */
export async function consumeVerifyToken(db: Db, tokenHash: string, now: Date): Promise<string | null> {
  const [, claimed] = await db.batch([
    db
      .update(users)
      .set({ emailVerifiedAt: now, updatedAt: now })
      .where(and(isNull(users.emailVerifiedAt), usable(db, tokenHash, "email_verify", now))),
    claim(db, tokenHash, "email_verify", now),
  ]);
  const row = claimed[0];
  if (!row) return null;
  const user = await findUserById(db, row.userId);
  return user && user.email === row.email ? user.id : null;
}

/**
 * Sets the new password hash and uses the reset token up, atomically: of two concurrent resets
 * with one token exactly one claims it and only that one's password is written.
 */
export async function consumeResetToken(
  db: Db,
  tokenHash: string,
  userId: string,
  passwordHash: string,
  now: Date,
): Promise<boolean> {
  const [, claimed] = await db.batch([
    db
      .update(users)
      .set({ passwordHash, passwordChangedAt: now, updatedAt: now })
      .where(and(eq(users.id, userId), usable(db, tokenHash, "password_reset", now))),
    claim(db, tokenHash, "password_reset", now),
  ]);
  return claimed.length === 1 && claimed[0]?.userId === userId;
}

/** Uses up every other open token of a purpose (after a successful verification or reset). */
export async function retireTokens(
  db: Db,
  userId: string,
  purpose: TokenPurpose,
  now: Date,
  exceptHash: string,
): Promise<void> {
  await db
    .update(vt)
    .set({ usedAt: now })
    .where(
      and(eq(vt.userId, userId), eq(vt.purpose, purpose), isNull(vt.usedAt), ne(vt.tokenHash, exceptHash)),
    );
}

/**
 * Stores an email-change token (sent to the new address) and expires the user's earlier pending
 * changes in the same batch: a mistyped address's link stops working once the user asks again.
 * Plain verification links for the current address are left alone.
 */
export async function insertEmailChangeToken(
  db: Db,
  t: { userId: string; currentEmail: string; newEmail: string; tokenHash: string; now: Date; ttlMs: number },
): Promise<void> {
  await db.batch([
    db
      .update(vt)
      .set({ expiresAt: t.now })
      .where(
        and(
          eq(vt.userId, t.userId),
          eq(vt.purpose, "email_verify"),
          ne(vt.email, t.currentEmail),
          isNull(vt.usedAt),
          gt(vt.expiresAt, t.now),
        ),
      ),
    db.insert(vt).values({
      id: newId("verification", t.now),
      userId: t.userId,
      purpose: "email_verify",
      tokenHash: t.tokenHash,
      email: t.newEmail,
      createdAt: t.now,
      expiresAt: new Date(t.now.getTime() + t.ttlMs),
    }),
  ]);
}

/** A still-usable email-change token: its user, the user's address now, and the new address. */
export async function findEmailChange(
  db: Db,
  tokenHash: string,
  now: Date,
): Promise<{ userId: string; name: string; oldEmail: string; newEmail: string } | null> {
  const [row] = await db
    .select({ userId: users.id, name: users.name, oldEmail: users.email, newEmail: vt.email })
    .from(vt)
    .innerJoin(users, eq(users.id, vt.userId))
    .where(
      and(
        eq(vt.tokenHash, tokenHash),
        eq(vt.purpose, "email_verify"),
        ne(vt.email, users.email),
        isNull(vt.usedAt),
        gt(vt.expiresAt, now),
      ),
    )
    .limit(1);
  return row ?? null;
}

/**
 * Moves the user to the token's address (verified now) and uses the token up, in one atomic batch.
 * The user row changes only while the token is usable, the user still has `oldEmail` and no other
 * account holds the new address; the claim's row count plus a re-read say whether this call won.
 */
export async function consumeEmailChangeToken(
  db: Db,
  tokenHash: string,
  change: { userId: string; oldEmail: string; newEmail: string },
  now: Date,
): Promise<boolean> {
  const other = alias(users, "other");
  const taken = exists(db.select({ one: sql`1` }).from(other).where(eq(other.email, change.newEmail)));
  let claimed: { userId: string; email: string }[];
  try {
    [, claimed] = await db.batch([
      db
        .update(users)
        .set({ email: change.newEmail, emailVerifiedAt: now, updatedAt: now })
        .where(
          and(
            eq(users.id, change.userId),
            eq(users.email, change.oldEmail),
            not(taken),
            exists(
              db
                .select({ one: sql`1` })
                .from(vt)
                .where(
                  and(
                    eq(vt.tokenHash, tokenHash),
                    eq(vt.purpose, "email_verify"),
                    eq(vt.userId, change.userId),
                    eq(vt.email, change.newEmail),
                    isNull(vt.usedAt),
                    gt(vt.expiresAt, now),
                  ),
                ),
            ),
          ),
        ),
      claim(db, tokenHash, "email_verify", now),
    ]);
  } catch {
    return false; // the unique index on users.email refused a racing sign-up: the batch rolled back
  }
  const row = claimed[0];
  if (!row || row.userId !== change.userId) return false;
  const user = await findUserById(db, change.userId);
  return user?.email === change.newEmail;
}

export async function setPassword(db: Db, userId: string, passwordHash: string, now: Date): Promise<void> {
  await db
    .update(users)
    .set({ passwordHash, passwordChangedAt: now, updatedAt: now })
    .where(eq(users.id, userId));
}
