import type { MiddlewareHandler } from "hono";
import { timingSafeEqual } from "../../lib/crypto";
import { AppError } from "../../lib/errors";
import type { AppEnv, Principal } from "../context";

function bearer(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return m?.[1] ?? null;
}

/** Resolves the static instance credentials (operator and metrics tokens). Identity adds users. */
export function resolveStaticToken(
  c: Parameters<MiddlewareHandler<AppEnv>>[0],
  token = bearer(c.req.header("authorization")),
): Principal | undefined {
  if (!token) return undefined;
  const { OPERATOR_TOKEN, METRICS_TOKEN } = c.get("platform").config;
  if (OPERATOR_TOKEN && timingSafeEqual(token, OPERATOR_TOKEN)) return { kind: "operator" };
  if (METRICS_TOKEN && timingSafeEqual(token, METRICS_TOKEN)) return { kind: "metrics" };
  return undefined;
}

/** Lets the request through only for one of the given principal kinds; 401 otherwise. */
export function requirePrincipal(...kinds: Principal["kind"][]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get("principal") ?? resolveStaticToken(c);
    if (!principal) {
      throw new AppError(401, "UNAUTHORIZED", "Missing or invalid credentials", {
        headers: { "WWW-Authenticate": 'Bearer realm="teamtrack"' },
      });
    }
    if (!kinds.includes(principal.kind))
      throw new AppError(403, "FORBIDDEN", "These credentials cannot use this route");
    c.set("principal", principal);
    await next();
  };
}
