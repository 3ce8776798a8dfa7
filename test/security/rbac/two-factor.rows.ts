/** Matrix rows for two-factor authentication: every signed-in user manages their own 2FA. */
import { totpCode } from "../../../src/modules/two-factor/totp";
import { all, type Cell, must, type Scenario, signedIn } from "./support";

const STEP = 30_000;

/** Sets up and enables 2FA for the cell's subject; returns the secret (clock moved past the enrolment step). */
async function enrol(x: Cell): Promise<string> {
  const { secret } = (await must(x, "POST", "/api/v1/auth/2fa/setup", x.subject)) as { secret: string };
  await must(x, "POST", "/api/v1/auth/2fa/enable", x.subject, {
    code: await totpCode(secret, x.t.clock.now()),
  });
  x.t.clock.advance(STEP);
  return secret;
}

export const rows: Scenario[] = [
  { route: "GET /api/v1/auth/2fa/status", expect: signedIn(200) },
  { route: "POST /api/v1/auth/2fa/setup", expect: signedIn(200) },
  {
    route: "POST /api/v1/auth/2fa/enable",
    expect: signedIn(200),
    prepare: async (x) => {
      const { secret } = (await must(x, "POST", "/api/v1/auth/2fa/setup", x.subject)) as { secret: string };
      return { body: { code: await totpCode(secret, x.t.clock.now()) } };
    },
  },
  {
    route: "POST /api/v1/auth/2fa/verify",
    // Public: the challenge token is the credential.
    expect: all(200),
    prepare: async (x) => {
      const secret = await enrol(x);
      const login = await must(x, "POST", "/api/v1/auth/login", x.subject, {
        email: x.subject.email,
        password: x.subject.password,
      });
      return {
        body: { challengeToken: login.challengeToken, code: await totpCode(secret, x.t.clock.now()) },
      };
    },
  },
  {
    route: "POST /api/v1/auth/2fa/disable",
    expect: signedIn(200),
    prepare: async (x) => {
      const secret = await enrol(x);
      return { body: { password: x.subject.password, code: await totpCode(secret, x.t.clock.now()) } };
    },
  },
  {
    route: "POST /api/v1/auth/2fa/backup-codes",
    expect: signedIn(200),
    prepare: async (x) => {
      await enrol(x);
      return { body: { password: x.subject.password } };
    },
  },
];
