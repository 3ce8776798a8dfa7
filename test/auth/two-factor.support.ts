import { eq } from "drizzle-orm";
import { twoFactor } from "../../src/db/schema";
import { totpCode } from "../../src/modules/two-factor/totp";
import type { TestApp } from "../support/app";
import { type Account, bearer, post, register } from "./helpers";

let ipCounter = 0;
/** A fresh client address per call: login rate limits (per IP+email) stay out of these tests. */
export const freshIp = () => ({ ip: `198.51.100.${(++ipCounter % 250) + 1}` });

/** `oathtool --totp` for `at`: an implementation independent of otplib. */
export function oathtool(secret: string, at: Date): string {
  const out = Bun.spawnSync([
    "oathtool",
    "--totp",
    "-b",
    secret,
    "--now",
    `${at.toISOString().replace("T", " ").slice(0, 19)} UTC`,
  ]);
  if (out.exitCode !== 0) throw new Error(`oathtool: ${out.stderr.toString()}`);
  return out.stdout.toString().trim();
}

export const hasOathtool = Bun.which("oathtool") !== null;

/** The current code: oathtool when present, otherwise otplib (the oathtool suite then fails under CI). */
export const codeAt = (secret: string, at: Date) =>
  hasOathtool ? Promise.resolve(oathtool(secret, at)) : totpCode(secret, at);

export async function api(
  t: TestApp,
  path: string,
  body: unknown,
  auth: Record<string, string> = {},
): Promise<Response> {
  return t.app.request(path, post(body, auth), freshIp());
}

export async function signIn(t: TestApp, account: { email: string; password: string }) {
  const res = await api(t, "/api/v1/auth/login", { email: account.email, password: account.password });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export interface Enrolled extends Account {
  secret: string;
  backupCodes: string[];
  accessToken: string;
}

/** Registers, signs in, sets up and enables 2FA at the clock's current step. */
export async function enrolled(t: TestApp): Promise<Enrolled> {
  const account = await register(t);
  const login = await signIn(t, account);
  const accessToken = login.body.accessToken as string;
  const setup = (await (await api(t, "/api/v1/auth/2fa/setup", undefined, bearer(accessToken))).json()) as {
    secret: string;
  };
  const res = await api(
    t,
    "/api/v1/auth/2fa/enable",
    { code: await codeAt(setup.secret, t.clock.now()) },
    bearer(accessToken),
  );
  if (res.status !== 200) throw new Error(`enable: ${res.status} ${await res.text()}`);
  const { backupCodes } = (await res.json()) as { backupCodes: string[] };
  return { ...account, secret: setup.secret, backupCodes, accessToken };
}

/** Signs in with the password and returns the challenge token (2FA on). */
export async function challenge(t: TestApp, account: { email: string; password: string }): Promise<string> {
  const r = await signIn(t, account);
  if (r.status !== 200 || r.body.mfaRequired !== true)
    throw new Error(`challenge: ${JSON.stringify(r.body)}`);
  return r.body.challengeToken as string;
}

export const verify = (t: TestApp, challengeToken: string, code: string) =>
  api(t, "/api/v1/auth/2fa/verify", { challengeToken, code });

export async function storedSecret(t: TestApp, userId: string) {
  const [row] = await t.platform.db.select().from(twoFactor).where(eq(twoFactor.userId, userId));
  return row;
}

export const STEP = 30_000;
