import type { Context, MiddlewareHandler } from "hono";
import type { Config } from "../../config/env";
import { sha256Hex } from "../../lib/crypto";
import { CidrSet, ipBucket } from "../../lib/ip";
import type { RateLimitRule } from "../../ports/kv";
import type { AppEnv, Principal } from "../context";
import { rateLimit } from "./rate-limit";

/**
 * Every rate-limit policy of SPEC 2.5, defined once and wired by path. Numbers come from the config
 * (RATE_LIMIT_* variables; defaults are the spec's). Keys:
 * - login: client IP + normalised email (hashed, so no address is stored in Redis);
 * - register, password forgot, verify-resend: client IP;
 * - api: the caller — user id for sessions, token id for personal access and agent tokens;
 * - heartbeats, screenshots: the agent token.
 * IPv6 clients are bucketed by /64 (lib/ip.ts ipBucket). Clients in RATE_LIMIT_ALLOWLIST skip the
 * IP-keyed policies only; nobody skips the per-caller ones.
 *
 * Agents' ingest calls (heartbeats, screenshots) count only against their own per-agent policy, not
 * against the API budget: a desktop agent's pulse alone would otherwise spend most of it. Every other
 * call an agent token makes counts against "api" like any token's.
 */

export type PolicyName =
  | "login"
  | "register"
  | "password-forgot"
  | "verify-resend"
  | "api"
  | "heartbeats"
  | "screenshots";

export type RateLimitPolicies = Record<PolicyName, RateLimitRule>;

/** The rules in force for this configuration. */
export function rateLimitPolicies(config: Config): RateLimitPolicies {
  return {
    login: config.RATE_LIMIT_LOGIN,
    register: config.RATE_LIMIT_REGISTER,
    "password-forgot": config.RATE_LIMIT_PASSWORD_FORGOT,
    "verify-resend": config.RATE_LIMIT_VERIFY_RESEND,
    api: config.RATE_LIMIT_API,
    heartbeats: config.RATE_LIMIT_HEARTBEATS,
    screenshots: config.RATE_LIMIT_SCREENSHOTS,
  };
}

type Key = (c: Context<AppEnv>) => string | null | Promise<string | null>;

/** Routes limited per client IP (POST only). */
const IP_ROUTES: Record<string, Exclude<PolicyName, "api" | "heartbeats" | "screenshots">> = {
  "/api/v1/auth/login": "login",
  "/api/v1/auth/register": "register",
  "/api/v1/auth/password/forgot": "password-forgot",
  "/api/v1/auth/email/resend": "verify-resend",
};

/** Agent ingest routes with their own per-agent policy instead of the API one (POST only). */
export const INGEST_ROUTES: Record<string, "heartbeats" | "screenshots"> = {
  "/api/v1/ingest/heartbeats": "heartbeats",
  "/api/v1/ingest/screenshots": "screenshots",
};

/** The bucket of the caller: one per user (all their sessions), one per token. */
export function callerKey(p: Principal | undefined): string | null {
  if (!p) return null;
  switch (p.kind) {
    case "user":
      return `user:${p.userId}`;
    case "pat":
    case "agent":
      return `token:${p.tokenId}`;
    default:
      return p.kind; // the instance's operator and metrics tokens: one bucket each
  }
}

/** Normalised as the login route does (EmailField: trimmed, lower case); "" when absent or unreadable. */
async function loginEmail(c: Context<AppEnv>): Promise<string> {
  try {
    // Hono caches the body, so the route's validator reads it again after this.
    const body = (await c.req.json()) as { email?: unknown } | null;
    return typeof body?.email === "string" ? body.email.trim().toLowerCase() : "";
  } catch {
    return ""; // malformed JSON: the route answers 400; the attempt still counts for this IP
  }
}

/**
 * Every policy as one middleware, for the /api/v1 paths. Run it after authentication (the per-caller
 * policies read `c.var.principal`) and before the routes, so a limited request never reaches
 * validation or a handler. A POST to a sign-in or sign-up route meets its per-IP policy, then the API
 * one; an agent's ingest POST only its per-agent one; everything else the API one.
 */
export function rateLimits(config: Config): MiddlewareHandler<AppEnv> {
  const rules = rateLimitPolicies(config);
  const allowList = new CidrSet(config.RATE_LIMIT_ALLOWLIST);
  const limit = (name: PolicyName, key: Key, after = false) =>
    rateLimit({ name, ...rules[name], key, after });

  const ipKey: Key = (c) => {
    const ip = c.get("clientIp")();
    return allowList.has(ip) ? null : `ip:${ipBucket(ip)}`;
  };
  const callerPolicy = (name: PolicyName, after = false) =>
    limit(name, (c) => callerKey(c.get("principal")), after);

  const byIp = new Map<string, MiddlewareHandler<AppEnv>>();
  for (const [path, name] of Object.entries(IP_ROUTES)) {
    const key: Key =
      name === "login"
        ? async (c) => {
            const ip = ipKey(c);
            if (ip === null) return null;
            const email = await loginEmail(c);
            return `${ip}:email:${(await sha256Hex(email)).slice(0, 32)}`;
          }
        : ipKey;
    byIp.set(path, limit(name, key));
  }
  const ingest = new Map(Object.entries(INGEST_ROUTES).map(([path, name]) => [path, callerPolicy(name)]));
  const api = callerPolicy("api");
  // After a route's per-IP policy, whose fields are on the answer already.
  const apiAfterIp = callerPolicy("api", true);

  return (c, next) => {
    if (c.req.method === "POST") {
      const path = c.req.path;
      const perAgent = ingest.get(path);
      if (perAgent) return perAgent(c, next);
      const perIp = byIp.get(path);
      if (perIp) return perIp(c, () => apiAfterIp(c, next) as Promise<void>);
    }
    return api(c, next);
  };
}
