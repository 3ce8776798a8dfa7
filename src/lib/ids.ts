import { ulid } from "./crypto";

/** Prefixes of every id the API hands out. Ids are opaque: clients must not parse them. */
export const ID_PREFIX = {
  jobRun: "jrun",
  event: "evt",
  outbox: "obx",
  mail: "mail",
  user: "usr",
  org: "org",
  session: "ses",
  refreshToken: "rt",
  membership: "mem",
  invitation: "inv",
  token: "tok",
  audit: "aud",
  verification: "vt",
  mfaChallenge: "mfa",
  backupCode: "bkc",
  project: "prj",
  tag: "tag",
  timeEntry: "te",
  heartbeat: "hb",
  activity: "act",
  screenshot: "scr",
  idlePeriod: "idl",
} as const;

export type IdKind = keyof typeof ID_PREFIX;

export function newId(kind: IdKind, now: Date = new Date()): string {
  return `${ID_PREFIX[kind]}_${ulid(now.getTime())}`;
}
