import type { EventBus } from "../events/bus";
import type { JobRunner } from "../jobs/runner";
import type { SecretBox } from "../lib/secret-box";
import type { AuditService } from "../modules/audit/audit.service";
import type { CachedAuth } from "../modules/auth/auth.middleware";
import type { PrincipalCache } from "../modules/auth/principal-cache";
import type { SessionService } from "../modules/auth/session.service";
import type { Logger, Platform } from "../ports/platform";

export interface Services {
  events: EventBus;
  jobs: JobRunner;
  sessions: SessionService;
  /** Sessions and tokens as the auth middleware last read them (the session cache, SPEC 2.2). */
  principals: PrincipalCache<CachedAuth>;
  audit: AuditService;
  /** AES-256-GCM for secrets read back later (TOTP secrets …), keyed by ENCRYPTION_KEYS. */
  secrets: SecretBox;
}

import type { Role } from "../db/schema";

/** A signed-in member acting in one organization (role read fresh on every request). */
interface MemberPrincipal {
  userId: string;
  /** Null only for a user session with no organization (e.g. after leaving their last one). */
  orgId: string | null;
  role: Role | null;
}

/** Who is calling: instance credentials, a user session, a personal access token or an agent token. */
export type Principal =
  | { kind: "operator" }
  | { kind: "metrics" }
  | (MemberPrincipal & { kind: "user"; sessionId: string })
  | (MemberPrincipal & { kind: "pat"; tokenId: string; scopes: string[] })
  | (MemberPrincipal & { kind: "agent"; tokenId: string; scopes: string[] });

/** The user and organization behind a session or token, as `/me` shows them. */
export interface Identity {
  user: { id: string; email: string; name: string; emailVerified: boolean };
  organization: { id: string; name: string } | null;
}

/** Bindings the runtime passes as Hono's `env`: the socket address on Bun, bindings on Workers. */
export interface AppBindings {
  ip?: string;
  [binding: string]: unknown;
}

export interface AppVariables {
  requestId: string;
  logger: Logger;
  platform: Platform;
  services: Services;
  /** The client's address (lib/ip.ts resolveClientIp), resolved on the first call. */
  clientIp: () => string;
  principal?: Principal;
  /** The profile behind a member principal (set with it by the auth middleware, from the same read). */
  identity?: Identity;
  /** The last answer `c.body`/`c.json` built in memory and its size in bytes (http/middleware/responses.ts). */
  builtBody?: { res: Response; bytes: number };
  /** Work after the response (waitUntil on Workers, tracked promise on Bun). */
  defer: (work: Promise<unknown>) => void;
}

export interface AppEnv {
  Bindings: AppBindings;
  Variables: AppVariables;
}
