/**
 * TOTP (RFC 6238) through otplib: SHA-1, 6 digits, 30-second steps — what every authenticator app
 * implements. Time comes from the caller (the injected Clock), never from Date.now().
 */
import { generate, generateSecret, generateURI, verify } from "otplib";
import { renderSVG } from "uqr";

export const TOTP_ISSUER = "TeamTrack";
export const TOTP_PERIOD_SECONDS = 30;
/** 20 bytes = 160 bits, RFC 4226's recommended length. */
export const TOTP_SECRET_BYTES = 20;
/** One step either side: clocks drift and people type slowly. */
const TOLERANCE_SECONDS = TOTP_PERIOD_SECONDS;

export function newTotpSecret(): string {
  return generateSecret({ length: TOTP_SECRET_BYTES });
}

/** `otpauth://totp/TeamTrack:<email>?secret=…&issuer=TeamTrack&…` */
export function otpauthUri(secret: string, email: string): string {
  return generateURI({ issuer: TOTP_ISSUER, label: email, secret });
}

/** The provisioning URI as a QR code: an SVG data URL (no canvas, works on Workers). */
export function qrCodeDataUrl(uri: string): string {
  const svg = renderSVG(uri, { ecc: "M", border: 2 });
  return `data:image/svg+xml;base64,${btoa(svg)}`;
}

export function totpStep(now: Date): number {
  return Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

/**
 * The time step `code` matches at `now` (± one step), or null. A step at or before `afterStep` is
 * refused (RFC 6238 §5.2: a code is accepted once), so pass the last accepted step.
 */
export async function matchTotp(
  secret: string,
  code: string,
  now: Date,
  afterStep: number | null,
): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  const result = await verify({
    secret,
    token: code,
    epoch: Math.floor(now.getTime() / 1000),
    epochTolerance: TOLERANCE_SECONDS,
    ...(afterStep === null ? {} : { afterTimeStep: afterStep }),
  });
  if (!result.valid) return null;
  return "timeStep" in result && typeof result.timeStep === "number"
    ? result.timeStep
    : totpStep(now) + (result.delta ?? 0);
}

/** The code for `now` (tests, and the CLI's self-check). */
export function totpCode(secret: string, now: Date): Promise<string> {
  return generate({ secret, epoch: Math.floor(now.getTime() / 1000) });
}
