/**
 * The first half of a login with 2FA: after the password checks out, the client gets a challenge
 * token instead of a session. It is opaque (not a JWT, so the auth middleware rejects it as a
 * bearer token), stored only as SHA-256, valid 5 minutes, single use, and dies after 5 wrong codes.
 */
import type { Db } from "../../db/client";
import { base64url, randomBytes, sha256Hex } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import type { Clock } from "../../ports/clock";
import * as repo from "./two-factor.repo";

export const CHALLENGE_PREFIX = "ttc";
export const CHALLENGE_TTL_MS = 5 * 60_000;
export const CHALLENGE_MAX_ATTEMPTS = 5;

export interface Challenge {
  mfaRequired: true;
  challengeToken: string;
  expiresIn: number;
}

export async function createChallenge(
  deps: { db: Db; clock: Clock },
  userId: string,
  meta: { ip: string | null; userAgent: string | null },
): Promise<Challenge> {
  const now = deps.clock.now();
  const token = `${CHALLENGE_PREFIX}_${base64url(randomBytes(32))}`;
  await repo.insertChallenge(deps.db, {
    id: newId("mfaChallenge", now),
    userId,
    tokenHash: await sha256Hex(token),
    ip: meta.ip,
    userAgent: meta.userAgent,
    createdAt: now,
    expiresAt: new Date(now.getTime() + CHALLENGE_TTL_MS),
  });
  return { mfaRequired: true, challengeToken: token, expiresIn: CHALLENGE_TTL_MS / 1000 };
}
