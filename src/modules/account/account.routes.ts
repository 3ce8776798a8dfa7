import { createRoute, z } from "@hono/zod-openapi";
import { EmailField, jsonBody, OpaqueTokenField, PasswordField } from "../../http/fields";
import { apiProblemResponses, bearerSecurity, jsonContent, publicSecurity } from "../../http/openapi";

const tags = ["Account"];

/** One-time tokens from emails. Any malformed, unknown, expired or used token gets the same 400. */
const Token = OpaqueTokenField.openapi({
  description: "The token from the emailed link",
  example: "q3Xv0yqUoJ9v4o2m6qN0Xc1m8kL5bZrT7hW2aF4sD9e",
});
const Accepted = z.object({ accepted: z.literal(true) }).openapi("Accepted");

export const verifyEmailRoute = createRoute({
  operationId: "verifyEmail",
  method: "post",
  path: "/api/v1/auth/email/verify",
  tags,
  summary: "Confirm an email address",
  description:
    "Uses the token from the verification email (valid 48 h, once). A token from an email-change mail moves the account to the new address (verified) and notifies the old one, if no other account has taken that address meanwhile. Unknown, expired and used tokens all answer 400 `INVALID_TOKEN`.",
  security: publicSecurity,
  request: {
    body: jsonBody(z.strictObject({ token: Token }).openapi("VerifyEmailRequest"), {
      token: "q3Xv0yqUoJ9v4o2m6qN0Xc1m8kL5bZrT7hW2aF4sD9e",
    }),
  },
  responses: {
    200: jsonContent(z.object({ verified: z.literal(true) }).openapi("EmailVerified"), "Verified"),
    ...apiProblemResponses(415, 422),
  },
});

export const resendVerificationRoute = createRoute({
  operationId: "resendVerificationEmail",
  method: "post",
  path: "/api/v1/auth/email/resend",
  tags,
  summary: "Send the verification email again",
  description:
    "For the signed-in user (access token). At most 1 per 60 s and 5 per hour; 409 `ALREADY_VERIFIED` when there is nothing to verify.",
  security: bearerSecurity,
  responses: {
    202: jsonContent(Accepted, "A new verification email is on its way"),
    ...apiProblemResponses(401, 403, 409, 429),
  },
});

export const forgotPasswordRoute = createRoute({
  operationId: "forgotPassword",
  method: "post",
  path: "/api/v1/auth/password/forgot",
  tags,
  summary: "Ask for a password reset email",
  description:
    "Always 202 with the same body, whether or not the address has an account; when it has, a reset link (valid 1 h, once; older links stop working) is emailed.",
  security: publicSecurity,
  request: {
    body: jsonBody(z.strictObject({ email: EmailField }).openapi("ForgotPasswordRequest"), {
      email: "ada@example.com",
    }),
  },
  responses: {
    202: jsonContent(Accepted, "Accepted; an email is sent if the account exists"),
    ...apiProblemResponses(415, 422, 429),
  },
});

export const resetPasswordRoute = createRoute({
  operationId: "resetPassword",
  method: "post",
  path: "/api/v1/auth/password/reset",
  tags,
  summary: "Set a new password with a reset token",
  description:
    "Sets the password, signs out every session (all refresh tokens die) and emails a confirmation. The token works once; 400 `INVALID_TOKEN` otherwise, 422 `PASSWORD_REJECTED` naming `password` when the policy refuses it.",
  security: publicSecurity,
  request: {
    body: jsonBody(
      z.strictObject({ token: Token, password: PasswordField }).openapi("ResetPasswordRequest"),
      {
        token: "q3Xv0yqUoJ9v4o2m6qN0Xc1m8kL5bZrT7hW2aF4sD9e",
        password: "correct horse battery staple",
      },
    ),
  },
  responses: {
    200: jsonContent(
      z.object({ passwordReset: z.literal(true) }).openapi("PasswordReset"),
      "PasswordField set",
    ),
    ...apiProblemResponses(415, 422),
  },
});

export const changePasswordRoute = createRoute({
  operationId: "changePassword",
  method: "post",
  path: "/api/v1/auth/password/change",
  tags,
  summary: "Change the password",
  description:
    "For the signed-in user (access token, not API tokens). Requires the current password (403 `INVALID_CURRENT_PASSWORD`); signs out every other session and emails a notice.",
  security: bearerSecurity,
  request: {
    body: jsonBody(
      z
        .strictObject({ currentPassword: PasswordField, newPassword: PasswordField })
        .openapi("ChangePasswordRequest"),
      { currentPassword: "old passphrase here", newPassword: "correct horse battery staple" },
    ),
  },
  responses: {
    200: jsonContent(
      z
        .object({ passwordChanged: z.literal(true), otherSessionsRevoked: z.number().int().min(0) })
        .openapi("PasswordChanged"),
      "PasswordField changed",
    ),
    ...apiProblemResponses(401, 403, 415, 422, 429),
  },
});

export const changeEmailRoute = createRoute({
  operationId: "changeEmail",
  method: "post",
  path: "/api/v1/auth/email/change",
  tags,
  summary: "Change the email address",
  description:
    "For the signed-in user (access token, not API tokens). Requires the password (403 `INVALID_CURRENT_PASSWORD`; 429 after 10 attempts in 15 min). Always 202 when the password is right: a confirmation link (valid 48 h, once; asking again makes older change links stop working) is mailed to the new address and a notice to the current one. The address changes only when the link is used with `POST /api/v1/auth/email/verify`. A new address that already has an account gets no link, and the answer is the same. 422 naming `newEmail` when it is the current address.",
  security: bearerSecurity,
  request: {
    body: jsonBody(
      z.strictObject({ password: PasswordField, newEmail: EmailField }).openapi("ChangeEmailRequest"),
      {
        password: "correct horse battery staple",
        newEmail: "ada.lovelace@example.com",
      },
    ),
  },
  responses: {
    202: jsonContent(Accepted, "Accepted; a confirmation link is on its way to the new address"),
    ...apiProblemResponses(401, 403, 415, 422, 429),
  },
});
