/**
 * Password policy (ASVS 5.0 V6, spec 2.1): at least 8 characters, up to 256 accepted, no
 * composition rules, guessable passwords refused (zxcvbn score < 3, i.e. under 10^8 guesses; its
 * dictionaries include a common-password list) and passwords equal to or containing the email's
 * local part. Pure: no I/O, no `src/` imports beyond lib.
 */
import type { ZxcvbnResult } from "@zxcvbn-ts/core";
import { AppError } from "./errors";

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;
/**
 * zxcvbn score 3 means at least ~10^8 guesses; we test that threshold directly. zxcvbn's own
 * cut-off is 10^8 + 5, which puts every 8-character random password (10^8 + 1 guesses) at score 2
 * and would make the 8-character minimum a fiction. Everything else scores exactly as score ≥ 3.
 */
export const MIN_GUESSES_LOG10 = 8;
/**
 * zxcvbn's matching is superlinear in length (a crafted 128-character input costs seconds of CPU);
 * only this many leading characters are scored. A longer password whose prefix is already strong
 * is strong; one whose prefix is weak is refused. The whole password is still what gets hashed.
 */
const SCORED_PREFIX = 64;

export type PasswordIssueCode =
  | "password_too_short"
  | "password_too_long"
  | "password_contains_email"
  | "password_too_weak";

export interface PasswordIssue {
  code: PasswordIssueCode;
  message: string;
}

export interface PasswordContext {
  email?: string | null;
  name?: string | null;
}

type Zxcvbn = (password: string, userInputs?: (string | number)[]) => ZxcvbnResult;

let estimator: Promise<Zxcvbn> | undefined;

/**
 * zxcvbn with the common and English dictionaries, configured once per process/isolate on first
 * use. The dictionaries (~1.6 MB of source) are imported lazily so start-up and cold starts do not
 * pay for them.
 */
function loadZxcvbn(): Promise<Zxcvbn> {
  estimator ??= (async () => {
    const [core, common, en] = await Promise.all([
      import("@zxcvbn-ts/core"),
      import("@zxcvbn-ts/language-common"),
      import("@zxcvbn-ts/language-en"),
    ]);
    core.zxcvbnOptions.setOptions({
      dictionary: { ...common.dictionary, ...en.dictionary },
      graphs: common.adjacencyGraphs,
      translations: en.translations,
      maxLength: SCORED_PREFIX,
      // The default (100) makes l33t unmunging explode on inputs like "p4$$w0rd" repeated: seconds
      // of CPU on the event loop per request. 4 still catches every common l33t spelling we test.
      l33tMaxSubstitutions: 4,
    });
    return core.zxcvbn;
  })();
  estimator.catch(() => {
    estimator = undefined; // a failed load is retried on the next call
  });
  return estimator;
}

/** Length in user-perceived terms: code points, so an emoji or accented letter counts once. */
function length(password: string): number {
  return [...password].length;
}

/** The part of an email before the last `@`, lower case. */
function localPart(email: string): string {
  const at = email.lastIndexOf("@");
  return (at > 0 ? email.slice(0, at) : email).trim().toLowerCase();
}

/**
 * Checks a candidate password. Returns every issue found (empty when acceptable); a too-short or
 * too-long password is reported alone, since nothing else about it matters. `email` and `name`
 * feed the personal-information checks (the account's own data, or the data being registered).
 */
export async function checkPassword(password: string, ctx: PasswordContext = {}): Promise<PasswordIssue[]> {
  const n = length(password);
  if (n < PASSWORD_MIN_LENGTH)
    return [
      {
        code: "password_too_short",
        message: `Use at least ${PASSWORD_MIN_LENGTH} characters`,
      },
    ];
  if (n > PASSWORD_MAX_LENGTH)
    return [
      {
        code: "password_too_long",
        message: `Use at most ${PASSWORD_MAX_LENGTH} characters`,
      },
    ];

  const issues: PasswordIssue[] = [];
  const lower = password.toLowerCase();
  const local = ctx.email ? localPart(ctx.email) : "";
  // Very short local parts ("al@…") would refuse too many unrelated passwords.
  if (local.length >= 3 && lower.includes(local))
    issues.push({
      code: "password_contains_email",
      message: "The password must not contain your email address",
    });

  const userInputs = [
    ...(ctx.email ? [ctx.email.toLowerCase(), local] : []),
    ...(ctx.name
      ? ctx.name
          .toLowerCase()
          .split(/\s+/)
          .filter((w) => w.length >= 3)
      : []),
    "teamtrack",
  ];
  const scored = n > SCORED_PREFIX ? [...password].slice(0, SCORED_PREFIX).join("") : password;
  const result = (await loadZxcvbn())(scored, userInputs);
  if (result.guessesLog10 < MIN_GUESSES_LOG10) {
    const hint = [result.feedback.warning, ...result.feedback.suggestions].filter(Boolean).join(" ");
    issues.push({
      code: "password_too_weak",
      message: `This password is too easy to guess.${hint ? ` ${hint}` : ""} A few unrelated words make a strong password.`,
    });
  }
  return issues;
}

/** Loads the dictionaries now (e.g. at start-up of a long-running process) instead of on first use. */
export async function warmPasswordPolicy(): Promise<void> {
  await loadZxcvbn();
}

/**
 * Throws the 422 problem (code `PASSWORD_REJECTED`) naming `field` with one entry per issue, e.g.
 * `{ path: "password", code: "password_too_weak", message: … }`. `field` is the body property the
 * password came in (`password`, `newPassword`).
 */
export async function assertPasswordAcceptable(
  password: string,
  ctx: PasswordContext,
  field = "password",
): Promise<void> {
  const issues = await checkPassword(password, ctx);
  if (issues.length === 0) return;
  throw new AppError(422, "PASSWORD_REJECTED", "The password does not meet the password policy", {
    errors: issues.map((i) => ({ path: field, code: i.code, message: i.message })),
  });
}
