import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";

type Handler = MiddlewareHandler<AppEnv>;

/**
 * Runs middleware in order as one Hono layer: each one's `next` calls the following one directly,
 * the last calls the layer's own `next`. Each stays a plain Hono middleware (sync or async, it may
 * throw or work after `next`); what goes is Hono's per-layer async dispatch (on an authenticated GET,
 * eleven layers down to five took /me from 0.25 to 0.31 of a bare hello-world over HTTP). Why not
 * hono/combine's `every`: it runs Hono's compose inside, adding an async wrapper per middleware.
 *
 * What Hono does at each layer's edge happens once, at this layer's: an error thrown inside becomes
 * the problem answer there (so a step working after `next` sees the error, not the answer: a step
 * that must see the answer's status, like the request context's access log, turns the error into
 * the answer itself), and a Response a step returns instead of calling `next` becomes `c.res` there,
 * unless the step sets `c.res` itself.
 */
export function chain(...middleware: Handler[]): Handler {
  return (c, next) => {
    const run = (i: number): Promise<void> => {
      const mw = middleware[i];
      return mw ? (mw(c, () => run(i + 1)) as Promise<void>) : next();
    };
    return run(0);
  };
}

/** `middleware` for paths under `prefix` (the prefix itself included), as `app.use("<prefix>/*")`. */
export function under(prefix: string, middleware: Handler): Handler {
  const slash = `${prefix}/`;
  return (c, next) => {
    const path = c.req.path;
    return path === prefix || path.startsWith(slash) ? middleware(c, next) : next();
  };
}
