import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { ts } from "./columns";
import { users } from "./identity";

/**
 * TOTP enrolment (SPEC 2.4). One row per user; `enabledAt` null means set up but not yet confirmed
 * with a valid code, so 2FA is off. The secret is an AES-256-GCM ciphertext that names its key id.
 */
export const twoFactor = sqliteTable("two_factor", {
  userId: text("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  secretCiphertext: text("secret_ciphertext").notNull(),
  enabledAt: ts("enabled_at"),
  /** Highest TOTP time step accepted so far: a code for this step or an earlier one is a replay. */
  lastUsedStep: integer("last_used_step"),
  createdAt: ts("created_at").notNull(),
  updatedAt: ts("updated_at").notNull(),
});

/** One-time backup codes, stored only as hashes; a regenerated set deletes the old one. */
export const backupCodes = sqliteTable(
  "backup_codes",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    codeHash: text("code_hash").notNull(),
    usedAt: ts("used_at"),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [uniqueIndex("backup_codes_user_hash_uq").on(t.userId, t.codeHash)],
);

/**
 * The second step of a login with 2FA: a single-use token (stored as SHA-256) that allows only
 * `POST /auth/2fa/verify`, for 5 minutes and at most 5 wrong codes.
 */
export const mfaChallenges = sqliteTable(
  "mfa_challenges",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull(),
    attempts: integer("attempts").notNull().default(0),
    ip: text("ip"),
    userAgent: text("user_agent"),
    createdAt: ts("created_at").notNull(),
    expiresAt: ts("expires_at").notNull(),
    usedAt: ts("used_at"),
  },
  (t) => [
    uniqueIndex("mfa_challenges_hash_uq").on(t.tokenHash),
    index("mfa_challenges_user_idx").on(t.userId),
    index("mfa_challenges_expires_idx").on(t.expiresAt),
  ],
);
