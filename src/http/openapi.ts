import { OpenAPIHono, z } from "@hono/zod-openapi";
import { AppError, type FieldError } from "../lib/errors";
import type { AppEnv } from "./context";
import { illFormedPath } from "./fields";
import { MemoRouter } from "./router";

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "https://teamtrack.dev/problems/validation-failed" }),
    title: z.string().openapi({ example: "Unprocessable Content" }),
    status: z.number().int().openapi({ example: 422 }),
    detail: z.string().optional().openapi({ example: "The request body is invalid" }),
    instance: z.string().optional().openapi({ example: "/api/v1/admin/jobs/db.optimize/run" }),
    code: z.string().openapi({ example: "VALIDATION_FAILED", description: "Stable, UPPER_SNAKE error code" }),
    requestId: z.string().openapi({ example: "0b6f7c1e-6c4e-4a55-9a53-2f1d0d8f9b7a" }),
    errors: z
      .array(
        z.object({
          path: z.string().openapi({ example: "wait" }),
          message: z.string().openapi({ example: "Expected boolean, received string" }),
          code: z.string().openapi({ example: "invalid_type" }),
          location: z.enum(["body", "query", "param", "header", "cookie", "form"]).optional(),
        }),
      )
      .optional()
      .openapi({ description: "Each invalid field (422 only)" }),
  })
  .passthrough()
  .openapi("Problem", { description: "RFC 9457 problem details" });

const STATUS_TEXT: Record<number, string> = {
  400: "Malformed request",
  401: "Missing or invalid credentials",
  403: "Authenticated but not allowed",
  404: "Not found",
  409: "Conflict with the current state",
  413: "Request body too large",
  415: "Unsupported content type",
  422: "Validation failed",
  429: "Rate limit exceeded",
  500: "Internal error",
  503: "Dependency unavailable",
};

const problemContent = { "application/problem+json": { schema: ProblemSchema } };

/** Error responses of a route, all referencing the one Problem component. */
export function problemResponses(...statuses: number[]) {
  const all = [...new Set([...statuses, 500])];
  return Object.fromEntries(
    all.map((s) => [s, { description: STATUS_TEXT[s] ?? "Error", content: problemContent }]),
  );
}

/** Error responses of an /api/v1 route: the `Accept-Version` check can always answer 400. */
export function apiProblemResponses(...statuses: number[]) {
  return problemResponses(400, ...statuses);
}

export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

const LOCATIONS: Record<string, FieldError["path"]> = {
  json: "body",
  query: "query",
  param: "param",
  header: "header",
  cookie: "cookie",
  form: "form",
};

/** Turns a zod failure into the 422 problem naming every bad field. */
export function validationError(error: z.ZodError, target: string): AppError {
  const location = LOCATIONS[target] ?? target;
  const errors = error.issues.map((i) => {
    const unknownKeys = i.code === "unrecognized_keys" ? (i as { keys?: string[] }).keys : undefined;
    const path = [...i.path.map(String), ...(unknownKeys?.length === 1 ? unknownKeys : [])].join(".");
    return { path: path || location, message: i.message, code: i.code, location } as FieldError;
  });
  return new AppError(
    422,
    "VALIDATION_FAILED",
    `Invalid ${location === "body" ? "request body" : location}`,
    { errors },
  );
}

/**
 * Every router uses this, so validation failures everywhere become the same 422 problem. A JSON body
 * must also be well-formed Unicode: a lone surrogate (`"\ud800"`) is a 422 naming the field. Stored
 * through `json_extract` such a string is not valid UTF-8, and libSQL aborted the whole process when
 * it read one back; no route has a use for one. Checked here, on what validation parsed, after the
 * route's own authorization (an anonymous body costs nothing more than its 401).
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    router: new MemoRouter(),
    defaultHook: (result) => {
      const target = (result as { target?: string }).target ?? "body";
      if (!result.success) throw validationError(result.error as z.ZodError, target);
      if (target !== "json") return;
      const path = illFormedPath((result as { data: unknown }).data);
      if (path !== null)
        throw new AppError(422, "VALIDATION_FAILED", "Invalid request body", {
          errors: [
            {
              path: path || "body", // the body itself, as validationError names it
              message: "must be well-formed Unicode (no lone surrogate)",
              code: "invalid_string",
              location: "body",
            } as FieldError,
          ],
        });
    },
  });
}

export type Router = ReturnType<typeof createRouter>;

export const bearerSecurity = [{ bearerAuth: [] }];
export const publicSecurity: Record<string, string[]>[] = [];
