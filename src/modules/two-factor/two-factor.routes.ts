import { createRoute, z } from "@hono/zod-openapi";
import { cleanText, jsonBody, OpaqueTokenField, PasswordField } from "../../http/fields";
import { apiProblemResponses, bearerSecurity, jsonContent, publicSecurity } from "../../http/openapi";
import { LoginResponseSchema } from "../auth/auth.routes";

const tags = ["Two-factor authentication"];

const CodeField = cleanText(16).openapi({
  description: "A 6-digit code from the authenticator app, or (where stated) an 8-character backup code",
  example: "492039",
});

const BackupCodes = z
  .object({
    backupCodes: z.array(z.string()).openapi({
      description: "10 one-time codes of 8 characters. Shown once: store them somewhere safe.",
      example: [
        "K7M2QX9P",
        "HB4TN8WZ",
        "3RFV6YCD",
        "P9XQ2M7K",
        "WN5T8BHC",
        "D6Y3RFVC",
        "M2K7XQ9P",
        "T8NWZ4HB",
        "Y3CDR6FV",
        "Q2X9PK7M",
      ],
    }),
  })
  .openapi("BackupCodes");

export const statusRoute = createRoute({
  operationId: "getTwoFactorStatus",
  method: "get",
  path: "/api/v1/auth/2fa/status",
  tags,
  summary: "Two-factor status",
  description:
    "Whether TOTP is on for the signed-in user, whether an enrolment is pending, and how many backup codes are left.",
  security: bearerSecurity,
  responses: {
    200: jsonContent(
      z
        .object({
          enabled: z.boolean(),
          enabledAt: z.string().datetime().nullable(),
          pending: z.boolean().openapi({ description: "Set up but not yet confirmed with a code" }),
          backupCodesRemaining: z.number().int().openapi({ example: 10 }),
        })
        .openapi("TwoFactorStatus"),
      "Status",
    ),
    ...apiProblemResponses(401, 403),
  },
});

export const setupRoute = createRoute({
  operationId: "setupTwoFactor",
  method: "post",
  path: "/api/v1/auth/2fa/setup",
  tags,
  summary: "Start TOTP enrolment",
  description:
    "Creates a new 160-bit TOTP secret (SHA-1, 6 digits, 30 s) and returns it with its `otpauth://` URI (issuer `TeamTrack`, label = your email) and a QR code (SVG data URL). Two-factor authentication stays off until `POST /auth/2fa/enable` receives a valid code. Calling it again replaces a pending secret; with 2FA on it answers 409. The secret is stored encrypted (AES-256-GCM).",
  security: bearerSecurity,
  responses: {
    200: jsonContent(
      z
        .object({
          secret: z.string().openapi({ description: "Base32", example: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" }),
          otpauthUrl: z.string().openapi({
            example:
              "otpauth://totp/TeamTrack:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=TeamTrack",
          }),
          qrCode: z.string().openapi({
            description: "data:image/svg+xml;base64,…",
            example: "data:image/svg+xml;base64,PHN2Zy…",
          }),
        })
        .openapi("TwoFactorSetup"),
      "Secret, URI and QR code",
    ),
    ...apiProblemResponses(401, 403, 409),
  },
});

export const enableRoute = createRoute({
  operationId: "enableTwoFactor",
  method: "post",
  path: "/api/v1/auth/2fa/enable",
  tags,
  summary: "Turn TOTP on",
  description:
    "Confirms enrolment with a current code and returns 10 backup codes, once. The code used here cannot be used again, not even for the next login.",
  security: bearerSecurity,
  request: {
    body: jsonBody(z.strictObject({ code: CodeField }).openapi("EnableTwoFactorRequest"), { code: "492039" }),
  },
  responses: {
    200: jsonContent(BackupCodes, "2FA is on"),
    ...apiProblemResponses(401, 403, 409, 415, 422, 429),
  },
});

export const verifyRoute = createRoute({
  operationId: "verifyTwoFactor",
  method: "post",
  path: "/api/v1/auth/2fa/verify",
  tags,
  summary: "Complete a login with a code",
  description:
    "Answers the challenge from `POST /auth/login` with a TOTP code or a backup code and returns the session tokens (and the `tt_refresh` cookie). A code for a time step at or before the last accepted one is refused (replay). A challenge allows 5 wrong codes; 10 wrong codes across challenges lock two-factor sign-in for 15 minutes (429 `TWO_FACTOR_LOCKED`) and email the user.",
  security: publicSecurity,
  request: {
    body: jsonBody(
      z.strictObject({ challengeToken: OpaqueTokenField, code: CodeField }).openapi("VerifyTwoFactorRequest"),
      { challengeToken: "ttc_q3Xv9LmP0aZ8yR2nB7cK4tW1sD6fG5hJ0kE9uI3oA8s", code: "492039" },
    ),
  },
  responses: {
    200: jsonContent(LoginResponseSchema, "Signed in"),
    ...apiProblemResponses(401, 415, 422, 429),
  },
});

export const disableRoute = createRoute({
  operationId: "disableTwoFactor",
  method: "post",
  path: "/api/v1/auth/2fa/disable",
  tags,
  summary: "Turn TOTP off",
  description:
    "Needs the password and a current code (or a backup code). Deletes the secret and the backup codes.",
  security: bearerSecurity,
  request: {
    body: jsonBody(
      z.strictObject({ password: PasswordField, code: CodeField }).openapi("DisableTwoFactorRequest"),
      { password: "correct horse battery staple", code: "492039" },
    ),
  },
  responses: {
    200: jsonContent(z.object({ enabled: z.literal(false) }).openapi("TwoFactorDisabled"), "2FA is off"),
    ...apiProblemResponses(401, 403, 409, 415, 422, 429),
  },
});

export const backupCodesRoute = createRoute({
  operationId: "regenerateBackupCodes",
  method: "post",
  path: "/api/v1/auth/2fa/backup-codes",
  tags,
  summary: "New backup codes",
  description: "Needs the password. Returns a new set of 10 codes, once; the old set stops working.",
  security: bearerSecurity,
  request: {
    body: jsonBody(z.strictObject({ password: PasswordField }).openapi("RegenerateBackupCodesRequest"), {
      password: "correct horse battery staple",
    }),
  },
  responses: {
    200: jsonContent(BackupCodes, "The new codes"),
    ...apiProblemResponses(401, 403, 409, 415, 422, 429),
  },
});
