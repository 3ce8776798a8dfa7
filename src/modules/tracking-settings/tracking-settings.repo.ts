import { eq, getTableColumns } from "drizzle-orm";
import type { Db } from "../../db/client";
import { orgSettings } from "../../db/schema";

export type SettingsRow = typeof orgSettings.$inferSelect;
export type SettingsValues = Omit<SettingsRow, "orgId" | "updatedAt">;

/** The column defaults of `org_settings`: what an organization without a row gets. */
export function defaultSettings(): SettingsValues {
  const cols = getTableColumns(orgSettings);
  return {
    timezone: cols.timezone.default as string,
    weekStart: cols.weekStart.default as SettingsValues["weekStart"],
    timerMode: cols.timerMode.default as SettingsValues["timerMode"],
    overlapPolicy: cols.overlapPolicy.default as SettingsValues["overlapPolicy"],
    idleThresholdSeconds: cols.idleThresholdSeconds.default as number,
    pulsetimeSeconds: cols.pulsetimeSeconds.default as number,
    staleTimerSeconds: cols.staleTimerSeconds.default as number,
    idleAlertSeconds: cols.idleAlertSeconds.default as number,
    idleAlertEmail: cols.idleAlertEmail.default as boolean,
    privacyRules: cols.privacyRules.default as string,
  };
}

export async function findSettings(db: Db, orgId: string): Promise<SettingsRow | null> {
  const [row] = await db.select().from(orgSettings).where(eq(orgSettings.orgId, orgId)).limit(1);
  return row ?? null;
}

/** Insert-or-update in one statement, so two first writers cannot both insert. */
export async function upsertSettings(
  db: Db,
  orgId: string,
  values: Partial<SettingsValues>,
  now: Date,
): Promise<SettingsRow> {
  const [row] = await db
    .insert(orgSettings)
    .values({ ...values, orgId, updatedAt: now })
    .onConflictDoUpdate({ target: orgSettings.orgId, set: { ...values, updatedAt: now } })
    .returning();
  if (!row) throw new Error("upsert returned no row");
  return row;
}
