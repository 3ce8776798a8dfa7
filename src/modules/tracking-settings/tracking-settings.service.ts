import { RE2JS } from "re2js";
import type { Db } from "../../db/client";
import type { OVERLAP_POLICIES, TIMER_MODES } from "../../db/schema";
import type { WeekStart } from "../../lib/time";
import type { Clock } from "../../ports/clock";
import type { AuditEntry, AuditService } from "../audit/audit.service";
import {
  defaultSettings,
  findSettings,
  type SettingsRow,
  type SettingsValues,
  upsertSettings,
} from "./tracking-settings.repo";

export const PRIVACY_FIELDS = ["title", "url", "app"] as const;
export const PRIVACY_ACTIONS = ["drop", "redact"] as const;
export const MAX_PATTERN_LENGTH = 200;
export const MAX_PRIVACY_RULES = 50;
/**
 * Bounds on a rule list's matching cost. RE2 runs in time proportional to the value's length times
 * the compiled program's size, so the size is what is bounded: at most 200 instructions a pattern
 * (`(?:bank|payroll)` is 14) and 1,000 for the whole list. Measured: ~110 µs per 2,000-character
 * value at 200 instructions, so the largest list against the largest body an agent may send (1 MiB
 * of urls) costs ~0.3 s, and a real batch against real rules microseconds.
 */
export const MAX_PATTERN_PROGRAM = 200;
export const MAX_RULES_PROGRAM = 1_000;

/**
 * One privacy rule, applied at heartbeat ingest: when `pattern` (an RE2 regular expression, matched
 * anywhere in the value) matches `field`, the heartbeat is dropped or the field is redacted.
 */
export interface PrivacyRule {
  field: (typeof PRIVACY_FIELDS)[number];
  pattern: string;
  action: (typeof PRIVACY_ACTIONS)[number];
}

export interface TrackingSettings {
  timezone: string;
  weekStart: WeekStart;
  timerMode: (typeof TIMER_MODES)[number];
  overlapPolicy: (typeof OVERLAP_POLICIES)[number];
  idleThresholdSeconds: number;
  pulsetimeSeconds: number;
  staleTimerSeconds: number;
  idleAlertSeconds: number;
  idleAlertEmail: boolean;
  privacyRules: PrivacyRule[];
  /** Null while the organization runs on defaults (no row yet). */
  updatedAt: Date | null;
}

/** The size of a pattern's RE2 program, or null when RE2 cannot compile it. */
export function programSize(pattern: string): number | null {
  try {
    return RE2JS.compile(pattern).programSize();
  } catch {
    return null;
  }
}

/**
 * Why a pattern is refused, or null when it is acceptable: rules are RE2 syntax, matched in linear
 * time (activity/privacy.ts), so what RE2 cannot compile (lookaround, backreferences) is refused, and
 * so is a pattern whose program is larger than MAX_PATTERN_PROGRAM (`x{1000}`-style repeats).
 */
export function patternProblem(pattern: string): string | null {
  try {
    const size = RE2JS.compile(pattern).programSize();
    if (size > MAX_PATTERN_PROGRAM)
      return `is too complex (${size} RE2 instructions; at most ${MAX_PATTERN_PROGRAM}): use fewer or smaller repeats`;
    return null;
  } catch (err) {
    const why = (err as Error).message.replace(/^error parsing regexp: /, "");
    return `is not an RE2 regular expression (lookaround and backreferences are not supported): ${why}`;
  }
}

function parseRules(json: string): PrivacyRule[] {
  try {
    const parsed = JSON.parse(json) as unknown;
    return Array.isArray(parsed) ? (parsed as PrivacyRule[]) : [];
  } catch {
    return [];
  }
}

function present(v: SettingsValues, updatedAt: Date | null): TrackingSettings {
  return {
    timezone: v.timezone,
    weekStart: v.weekStart,
    timerMode: v.timerMode,
    overlapPolicy: v.overlapPolicy,
    idleThresholdSeconds: v.idleThresholdSeconds,
    pulsetimeSeconds: v.pulsetimeSeconds,
    staleTimerSeconds: v.staleTimerSeconds,
    idleAlertSeconds: v.idleAlertSeconds,
    idleAlertEmail: v.idleAlertEmail,
    privacyRules: parseRules(v.privacyRules),
    updatedAt,
  };
}

/** A stored row's settings; every default for an organization without one. */
const presentRow = (row: SettingsRow | null): TrackingSettings =>
  row ? present(row, row.updatedAt) : present(defaultSettings(), null);

/** The organization's tracking settings; every default when it never saved any. */
export async function readSettings(db: Db, orgId: string): Promise<TrackingSettings> {
  return presentRow(await findSettings(db, orgId));
}

export type SettingsPatch = Partial<Omit<TrackingSettings, "updatedAt">>;

/**
 * Applies a partial update (upsert) and audits what changed as `settings.tracking_updated`; says
 * whether anything changed (a patch of the stored values writes nothing).
 */
export async function updateSettings(
  deps: { db: Db; clock: Clock; audit: AuditService },
  orgId: string,
  patch: SettingsPatch,
  actor: Pick<AuditEntry, "actorType" | "actorId" | "ip" | "userAgent" | "requestId">,
): Promise<{ settings: TrackingSettings; changed: boolean }> {
  const stored = await findSettings(deps.db, orgId);
  const before = presentRow(stored);
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const [key, to] of Object.entries(patch) as [keyof SettingsPatch, unknown][]) {
    const from = before[key];
    // Rules compare as stored: a stored list that cannot be read (shown as []) is replaced by any list sent.
    const same =
      key === "privacyRules"
        ? (stored?.privacyRules ?? defaultSettings().privacyRules) === JSON.stringify(to)
        : JSON.stringify(from) === JSON.stringify(to);
    if (to !== undefined && !same) changes[key] = { from, to };
  }
  if (Object.keys(changes).length === 0) return { settings: before, changed: false };
  const { privacyRules, ...rest } = patch;
  const values: Partial<SettingsValues> = {
    ...rest,
    ...(privacyRules ? { privacyRules: JSON.stringify(privacyRules) } : {}),
  };
  const row = await upsertSettings(deps.db, orgId, values, deps.clock.now());
  await deps.audit.record({
    ...actor,
    orgId,
    action: "settings.tracking_updated",
    targetType: "organization",
    targetId: orgId,
    metadata: { changes },
  });
  return { settings: present(row, row.updatedAt), changed: true };
}
