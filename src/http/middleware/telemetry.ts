import { context, SpanKind, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import { routeTemplate } from "./request-context";

export const w3c = new W3CTraceContextPropagator();

const headerGetter = {
  keys: (h: Headers) => [...h.keys()],
  get: (h: Headers, key: string) => h.get(key) ?? undefined,
};

/**
 * One SERVER span per request, continuing an incoming W3C `traceparent`. Everything the request does
 * (DB spans, outgoing fetch) runs inside its context. Named `METHOD /route/template` once routed.
 * Register it only with a recording tracer (app.ts).
 */
export function serverSpan(tracer: Tracer): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const parent = w3c.extract(context.active(), c.req.raw.headers, headerGetter);
    const url = new URL(c.req.url);
    const span = tracer.startSpan(
      `${c.req.method}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "http.request.method": c.req.method,
          "url.path": url.pathname,
          "url.scheme": url.protocol.replace(":", ""),
          "user_agent.original": c.req.header("user-agent") ?? "",
        },
      },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      const route = routeTemplate(c);
      const status = c.res.status;
      span.updateName(`${c.req.method} ${route}`);
      span.setAttribute("http.route", route);
      // Set by requestContext, which runs inside this span.
      span.setAttribute("http.request.id", c.get("requestId") ?? "");
      span.setAttribute("http.response.status_code", status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      const err = c.error;
      if (err) span.recordException(err);
      span.end();
    }
  };
}

/** `fetch` that opens a CLIENT span and sends `traceparent`, so downstream services join the trace. */
export function tracedFetch(tracer: Tracer, fetchImpl: typeof fetch = fetch) {
  return (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    return tracer.startActiveSpan(
      `${req.method}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { "http.request.method": req.method, "url.full": req.url.split("?")[0] ?? "" },
      },
      async (span) => {
        const headers = new Headers(req.headers);
        w3c.inject(context.active(), headers, { set: (h: Headers, k: string, v: string) => h.set(k, v) });
        try {
          const res = await fetchImpl(new Request(req, { headers }));
          span.setAttribute("http.response.status_code", res.status);
          if (res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          return res;
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw err;
        } finally {
          span.end();
        }
      },
    );
  };
}
