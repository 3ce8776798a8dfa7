/** One error type for the whole app; `onError` turns it into RFC 9457 problem+json. */
export interface FieldError {
  path: string;
  message: string;
  code: string;
}

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fieldErrors?: FieldError[];
  readonly headers?: Record<string, string>;
  /** Extra members for the problem body (e.g. `checks`); never secrets. */
  readonly extra?: Record<string, unknown>;

  constructor(
    status: number,
    code: string,
    detail?: string,
    options?: {
      errors?: FieldError[];
      headers?: Record<string, string>;
      extra?: Record<string, unknown>;
      cause?: unknown;
    },
  ) {
    super(detail ?? defaultTitle(status), options?.cause ? { cause: options.cause } : undefined);
    this.name = "AppError";
    this.status = status;
    this.code = code;
    this.fieldErrors = options?.errors;
    this.headers = options?.headers;
    this.extra = options?.extra;
  }
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  410: "Gone",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
};

export function defaultTitle(status: number): string {
  return TITLES[status] ?? (status >= 500 ? "Server Error" : "Client Error");
}

/** Problem type URI for a code, e.g. `https://teamtrack.dev/problems/validation-failed`. */
export function problemType(code: string): string {
  return `https://teamtrack.dev/problems/${code.toLowerCase().replace(/_/g, "-")}`;
}
