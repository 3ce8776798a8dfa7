import type { Context } from "hono";
import { AppError } from "../lib/errors";
import type { AppEnv } from "./context";
import { problemResponse } from "./problem";

type RouteLike = { method: string; path: string };

function toRegExp(path: string): RegExp {
  const pattern = path
    .split("/")
    .map((seg) => {
      if (seg === "*") return ".*";
      const m = /^:(\w+)(?:\{(.+)\})?(\?)?$/.exec(seg);
      if (m) return m[2] ? `(?:${m[2]})` : "[^/]+";
      return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return new RegExp(`^${pattern}/?$`);
}

/**
 * 404 for unknown paths, 405 (with `Allow`) for known paths asked with the wrong method. Hono has no
 * 405 of its own, so the route table is compiled once into matchers on first use.
 */
export function notFoundHandler(routes: () => RouteLike[]) {
  let table: { method: string; re: RegExp }[] | null = null;
  return (c: Context<AppEnv>): Response => {
    table ??= routes()
      .filter((r) => r.method !== "ALL" && !r.path.includes("*"))
      .map((r) => ({ method: r.method.toUpperCase(), re: toRegExp(r.path) }));
    const allowed = [...new Set(table.filter((r) => r.re.test(c.req.path)).map((r) => r.method))];
    if (allowed.length > 0) {
      if (allowed.includes("GET")) allowed.push("HEAD");
      allowed.push("OPTIONS");
      return problemResponse(
        c,
        new AppError(
          405,
          "METHOD_NOT_ALLOWED",
          `${c.req.method} is not allowed here; use ${allowed.join(", ")}`,
          {
            headers: { Allow: allowed.join(", ") },
          },
        ),
      );
    }
    return problemResponse(c, new AppError(404, "NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`));
  };
}
