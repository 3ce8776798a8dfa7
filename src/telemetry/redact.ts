/**
 * Paths pino must censor wherever they appear in a log line (fast-redact syntax; `*` is one level).
 * Credentials reach logs through request headers, error objects and ad-hoc objects, so both the
 * header names and the usual property names are listed at the depths we log them.
 */
const SECRET_KEYS = [
  "password",
  "currentPassword",
  "newPassword",
  "token",
  "accessToken",
  "refreshToken",
  "challengeToken",
  "invitationToken",
  "secret",
  "apiKey",
  "code",
  "backupCodes",
  "authorization",
  "cookie",
  "jwtSecret",
  "encryptionKeys",
  "secretAccessKey",
  "S3_SECRET_ACCESS_KEY",
];
const HEADER_KEYS = [
  "authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "proxy-authorization",
  "x-metrics-token",
];

export const REDACT_PATHS: string[] = [
  ...HEADER_KEYS.flatMap((h) => [`req.headers["${h}"]`, `res.headers["${h}"]`, `headers["${h}"]`]),
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
];

export const REDACT_CENSOR = "[REDACTED]";
