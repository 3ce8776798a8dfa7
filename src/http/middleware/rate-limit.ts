import type { Context, MiddlewareHandler } from "hono";
import { AppError } from "../../lib/errors";
import { then } from "../../lib/maybe-async";
import type { RateLimitRule } from "../../ports/kv";
import type { AppEnv } from "../context";

export interface RateLimitOptions extends RateLimitRule {
  /** Policy name in the headers, e.g. "api", "login". */
  name: string;
  /** Bucket key for this request; null skips limiting (e.g. an allow-listed client). */
  key: (c: Context<AppEnv>) => string | null | Promise<string | null>;
  /**
   * Another policy of the same request set its fields before this one: add this policy's items to
   * those lists instead of setting them (appending costs about twice a set on Bun's Headers).
   */
  after?: boolean;
}

/**
 * Limits through the platform's atomic `RateLimiter.consume` (shared via Redis when configured) and
 * answers with the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers):
 * `RateLimit-Policy: "api";q=100;w=60` and `RateLimit: "api";r=99;t=42`; 429 adds `Retry-After`.
 * Both fields are structured-field lists, so when several policies apply to one request (the
 * per-IP one of a route and the per-user API one) the later ones (`after`) append their items.
 */
const APPEND = { append: true } as const;

export function rateLimit(opts: RateLimitOptions): MiddlewareHandler<AppEnv> {
  const policy = `"${opts.name}";q=${opts.max};w=${Math.ceil(opts.window / 1000)}`;
  const rule = { window: opts.window, max: opts.max };
  // No await when the key and the limiter answer synchronously (the in-process limiter does).
  return (c, next) =>
    then(opts.key(c), (key) => {
      if (key === null) return next();
      const { rateLimiter, clock } = c.get("platform");
      return then(rateLimiter.consume(`rl:${opts.name}:${key}`, rule), (r) => {
        const resetSeconds = Math.max(0, Math.ceil((r.resetAt.getTime() - clock.ms()) / 1000));
        const state = `"${opts.name}";r=${r.remaining};t=${resetSeconds}`;
        if (!r.allowed) {
          throw new AppError(429, "RATE_LIMITED", `Too many requests; retry in ${resetSeconds} s`, {
            headers: {
              "RateLimit-Policy": policy,
              RateLimit: state,
              "Retry-After": String(Math.max(1, resetSeconds)),
            },
          });
        }
        // On the response being prepared, so the handler's answer and any error answer both carry them.
        c.header("RateLimit-Policy", policy, opts.after ? APPEND : undefined);
        c.header("RateLimit", state, opts.after ? APPEND : undefined);
        return next();
      });
    }) as Promise<void>;
}
