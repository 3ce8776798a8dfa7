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
    .sign(encoder.encode(settings.secret));
}

/** Verifies signature, algorithm, issuer, audience, expiry (against the injected clock) and `typ`. */
export async function verifyAccessToken(
  token: string,
  settings: JwtSettings,
  now: Date,
): Promise<AccessClaims | null> {
  try {
    const { payload } = await jwtVerify(token, encoder.encode(settings.secret), {
      algorithms: ACCESS_ALGORITHMS,
      issuer: settings.issuer,
      audience: settings.audience,
      currentDate: now,
      requiredClaims: ["sub", "sid", "exp", "iat"],
    });
    if (payload.typ !== "access" || typeof payload.sid !== "string" || typeof payload.sub !== "string")
      return null;
    return { sub: payload.sub, sid: payload.sid, org: typeof payload.org === "string" ? payload.org : null };
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
