import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { base64url, randomBytes, sha256Hex } from "../../lib/crypto";

/** Access tokens: HS256 only. The allow-list refuses `alg:none` and any asymmetric-key confusion. */
export const ACCESS_ALGORITHMS = ["HS256"];
export const ACCESS_TTL_SECONDS = 15 * 60;

export interface AccessClaims {
  sub: string;
  sid: string;
  org: string | null;
}

export interface JwtSettings {
  secret: string;
  issuer: string;
  audience: string;
}

const encoder = new TextEncoder();

export async function signAccessToken(
  claims: AccessClaims,
  settings: JwtSettings,
  now: Date,
): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ sid: claims.sid, org: claims.org, typ: "access" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.sub)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ACCESS_TTL_SECONDS)
    .sign(await keyFor(settings).key);
}

/**
 * Per signing configuration: the imported HMAC key (importing it per call doubled jose's cost) and
 * the access tokens already verified under it. A verified token's claims cannot change, so a repeat
 * presentation skips the signature check (~18 µs of WebCrypto per request) and only the expiry is
 * checked again, against the caller's clock, exactly as jose checks it. Revocation is unaffected:
 * the session is still read on every request (auth.middleware.ts).
 */
interface KeyState {
  key: Promise<CryptoKey>;
  verified: Map<string, { claims: AccessClaims; exp: number }>;
}
const VERIFIED_MAX = 10_000;
/**
 * By settings object: the app hands one object (SessionService.jwt) to every sign and verify for its
 * life, so the key is imported once and the verified tokens are the app's own.
 */
const keyStates = new WeakMap<JwtSettings, KeyState>();

function keyFor(settings: JwtSettings): KeyState {
  let state = keyStates.get(settings);
  if (!state) {
    state = {
      key: crypto.subtle.importKey(
        "raw",
        encoder.encode(settings.secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign", "verify"],
      ),
      verified: new Map(),
    };
    keyStates.set(settings, state);
  }
  return state;
}

/**
 * The claims of a token already verified under `settings`, checked for expiry against `now`:
 * claims, null once expired, undefined when it has not been verified yet (call verifyAccessToken).
 * Synchronous, so an authenticated request whose token and session are both known costs no await.
 */
export function verifiedAccessToken(
  token: string,
  settings: JwtSettings,
  now: Date,
): AccessClaims | null | undefined {
  const state = keyFor(settings);
  const seen = state.verified.get(token);
  if (!seen) return undefined;
  if (seen.exp > Math.floor(now.getTime() / 1000)) return seen.claims;
  state.verified.delete(token);
  return null;
}

/** Verifies signature, algorithm, issuer, audience, expiry (against the injected clock) and `typ`. */
export async function verifyAccessToken(
  token: string,
  settings: JwtSettings,
  now: Date,
): Promise<AccessClaims | null> {
  const seen = verifiedAccessToken(token, settings, now);
  if (seen !== undefined) return seen;
  const state = keyFor(settings);
  try {
    const { payload } = await jwtVerify(token, await state.key, {
      algorithms: ACCESS_ALGORITHMS,
      issuer: settings.issuer,
      audience: settings.audience,
      currentDate: now,
      requiredClaims: ["sub", "sid", "exp", "iat"],
    });
    if (payload.typ !== "access" || typeof payload.sid !== "string" || typeof payload.sub !== "string")
      return null;
    const claims = {
      sub: payload.sub,
      sid: payload.sid,
      org: typeof payload.org === "string" ? payload.org : null,
    };
    if (state.verified.size >= VERIFIED_MAX) {
      const oldest = state.verified.keys().next().value;
      if (oldest !== undefined) state.verified.delete(oldest);
    }
    state.verified.set(token, { claims, exp: payload.exp as number });
    return claims;
  } catch (err) {
    if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return null;
    throw err;
  }
}

/**
 * Opaque secrets (refresh, personal access and agent tokens): `<prefix>_<43 chars>` = 256 bits.
 * Only the SHA-256 is stored; the prefix lets the auth middleware route a token without a lookup.
 */
export const TOKEN_PREFIX = { refresh: "ttr", pat: "ttp", agent: "tta" } as const;

export function newOpaqueToken(kind: keyof typeof TOKEN_PREFIX): string {
  return `${TOKEN_PREFIX[kind]}_${base64url(randomBytes(32))}`;
}

export function hashToken(token: string): Promise<string> {
  return sha256Hex(token);
}
