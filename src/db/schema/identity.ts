import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { ts } from "./columns";

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    /** Normalised: trimmed, lower case. */
    email: text("email").notNull(),
    name: text("name").notNull(),
    passwordHash: text("password_hash").notNull(),
    emailVerifiedAt: ts("email_verified_at"),
    passwordChangedAt: ts("password_changed_at"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [uniqueIndex("users_email_uq").on(t.email)],
);

export const organizations = sqliteTable("organizations", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: ts("created_at").notNull(),
  updatedAt: ts("updated_at").notNull(),
});

export const ROLES = ["admin", "manager", "member", "viewer"] as const;
export type Role = (typeof ROLES)[number];

export const PRESENCE = ["active", "idle", "offline"] as const;
export type Presence = (typeof PRESENCE)[number];

export const memberships = sqliteTable(
  "memberships",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text("role", { enum: ROLES }).notNull(),
    /** Tracking profile (SPEC 3): shown instead of the user's name when set. */
    displayName: text("display_name"),
    /** IANA time zone the member's days, timelines and stats are computed in. */
    timezone: text("timezone").notNull().default("UTC"),
    /** Presence, maintained by heartbeat ingest and the presence job. */
    status: text("status", { enum: PRESENCE }).notNull().default("offline"),
    statusChangedAt: ts("status_changed_at"),
    /** Last heartbeat received from any of the member's agents. */
    lastSeenAt: ts("last_seen_at"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("memberships_org_user_uq").on(t.orgId, t.userId),
    index("memberships_user_idx").on(t.userId),
  ],
);

/** A login on one device: the refresh-token family and what access tokens point at (`sid`). */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** Organization the session acts in. */
    orgId: text("org_id").references(() => organizations.id, { onDelete: "cascade" }),
    userAgent: text("user_agent"),
    ip: text("ip"),
    createdAt: ts("created_at").notNull(),
    lastUsedAt: ts("last_used_at").notNull(),
    /** Absolute end of the session (30 days after login by default). */
    expiresAt: ts("expires_at").notNull(),
    revokedAt: ts("revoked_at"),
    revokedReason: text("revoked_reason"),
  },
  (t) => [
    index("sessions_user_idx").on(t.userId, t.createdAt),
    index("sessions_expires_idx").on(t.expiresAt),
  ],
);

/** Refresh tokens, stored only as SHA-256. A rotated token keeps its row so reuse can be detected. */
export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    id: text("id").primaryKey(),
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull(),
    createdAt: ts("created_at").notNull(),
    /** Set when this token was exchanged for its successor. */
    rotatedAt: ts("rotated_at"),
    replacedById: text("replaced_by_id"),
  },
  (t) => [
    uniqueIndex("refresh_tokens_hash_uq").on(t.tokenHash),
    index("refresh_tokens_session_idx").on(t.sessionId),
  ],
);

export const TOKEN_PURPOSES = ["email_verify", "password_reset"] as const;

/** One-time tokens sent by email (verification, reset), stored only as SHA-256. */
export const verificationTokens = sqliteTable(
  "verification_tokens",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    purpose: text("purpose", { enum: TOKEN_PURPOSES }).notNull(),
    tokenHash: text("token_hash").notNull(),
    /** The address the token was sent to (email change verifies the new one). */
    email: text("email").notNull(),
    createdAt: ts("created_at").notNull(),
    expiresAt: ts("expires_at").notNull(),
    usedAt: ts("used_at"),
  },
  (t) => [
    uniqueIndex("verification_tokens_hash_uq").on(t.tokenHash),
    index("verification_tokens_user_purpose_idx").on(t.userId, t.purpose, t.createdAt),
    index("verification_tokens_expires_idx").on(t.expiresAt),
  ],
);

export const invitations = sqliteTable(
  "invitations",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    tokenHash: text("token_hash").notNull(),
    invitedBy: text("invited_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: ts("created_at").notNull(),
    expiresAt: ts("expires_at").notNull(),
    acceptedAt: ts("accepted_at"),
    revokedAt: ts("revoked_at"),
  },
  (t) => [
    uniqueIndex("invitations_hash_uq").on(t.tokenHash),
    index("invitations_org_idx").on(t.orgId, t.createdAt),
    index("invitations_email_idx").on(t.email),
  ],
);

/** Personal access tokens and agent tokens; the secret is stored only as SHA-256. */
export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: ["pat", "agent"] }).notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** JSON array of scopes, e.g. ["time:read","time:write"]; agents: ["ingest"]. */
    scopes: text("scopes").notNull(),
    tokenHash: text("token_hash").notNull(),
    /** First characters of the token, to recognise it in a list. */
    prefix: text("prefix").notNull(),
    createdAt: ts("created_at").notNull(),
    lastUsedAt: ts("last_used_at"),
    expiresAt: ts("expires_at"),
    revokedAt: ts("revoked_at"),
  },
  (t) => [
    uniqueIndex("api_tokens_hash_uq").on(t.tokenHash),
    index("api_tokens_user_idx").on(t.userId, t.kind),
    index("api_tokens_org_idx").on(t.orgId, t.kind),
  ],
);

/** Tamper-evident audit trail: per organization, each row's hash covers the previous row's hash. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: text("id").primaryKey(),
    /** Chain key: the organization, or "_system" for events with no organization. */
    orgId: text("org_id").notNull(),
    seq: integer("seq").notNull(),
    actorType: text("actor_type", {
      enum: ["user", "token", "agent", "operator", "system", "anonymous"],
    }).notNull(),
    actorId: text("actor_id"),
    action: text("action").notNull(),
    targetType: text("target_type"),
    targetId: text("target_id"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    requestId: text("request_id"),
    metadata: text("metadata").notNull(),
    createdAt: ts("created_at").notNull(),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
  },
  (t) => [
    uniqueIndex("audit_log_org_seq_uq").on(t.orgId, t.seq),
    index("audit_log_org_created_idx").on(t.orgId, t.createdAt),
    index("audit_log_org_action_idx").on(t.orgId, t.action, t.createdAt),
    index("audit_log_actor_idx").on(t.actorId, t.createdAt),
  ],
);
