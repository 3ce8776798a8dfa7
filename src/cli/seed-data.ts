/**
 * The synthetic working days behind `teamtrack seed`: a seeded PRNG and, per member and local day,
 * heartbeats every few seconds during work hours (arrival, lunch, short idle stretches, sessions in
 * several apps with titles and URLs), the time entries a timer would have recorded, and screenshot
 * capture times. Pure functions of (seed, member, day): the same `--seed` gives the same data.
 */
import { TZDate } from "@date-fns/tz";
import type { InStatement } from "@libsql/client";

/** mulberry32: small, fast, good enough for synthetic data; never for secrets. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Weighted choice: `weights[i]` for `xs[i]`. */
  weighted<T>(xs: readonly T[], weights: readonly number[]): T {
    const total = weights.reduce((a, b) => a + b, 0);
    let r = this.next() * total;
    for (let i = 0; i < xs.length; i++) {
      r -= weights[i]!;
      if (r < 0) return xs[i]!;
    }
    return xs[xs.length - 1]!;
  }
  hex(bytes: number): string {
    let out = "";
    for (let i = 0; i < bytes; i++) out += this.int(0, 255).toString(16).padStart(2, "0");
    return out;
  }
}

/** Derives an independent stream for (seed, ...parts), so one member's data never shifts another's. */
export function rngFor(seed: number, ...parts: number[]): Rng {
  let h = seed ^ 0x9e3779b9;
  for (const p of parts) h = Math.imul(h ^ (p + 0x7f4a7c15), 0x85ebca6b) ^ (h >>> 13);
  return new Rng(h);
}

const B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A prefixed ULID-shaped id (time part from `ms`, random part from `rng`), like src/lib/ids.ts. */
export function seedId(prefix: string, ms: number, rng: Rng): string {
  let time = "";
  let t = ms;
  for (let i = 0; i < 10; i++) {
    time = B32[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rand = "";
  for (let i = 0; i < 16; i++) rand += B32[rng.int(0, 31)];
  return `${prefix}_${time}${rand}`;
}

export const TIME_ZONES = [
  "Europe/Berlin",
  "America/New_York",
  "Europe/London",
  "America/Los_Angeles",
  "Asia/Kolkata",
  "America/Sao_Paulo",
  "Asia/Tokyo",
  "Australia/Sydney",
  "Europe/Warsaw",
  "UTC",
] as const;

interface App {
  app: string;
  titles: readonly string[];
  urls?: readonly string[];
}

const APPS: readonly App[] = [
  {
    app: "Code",
    titles: ["ingest.repo.ts — teamtrack", "README.md — teamtrack", "schema.ts — billing", "app.tsx — web"],
  },
  {
    app: "Firefox",
    titles: ["Pull requests · teamtrack", "MDN Web Docs", "Issue #412 · tracker", "Grafana — API latency"],
    urls: [
      "https://github.com/teamtrack/teamtrack/pulls",
      "https://developer.mozilla.org/en-US/docs/Web",
      "https://tracker.example.com/issues/412",
      "https://grafana.example.com/d/api",
    ],
  },
  {
    app: "Google Chrome",
    titles: ["Inbox — Gmail", "Quarterly plan — Google Docs", "Calendar — Week", "Figma — Onboarding flow"],
    urls: [
      "https://mail.google.com/mail/u/0/#inbox",
      "https://docs.google.com/document/d/quarterly",
      "https://calendar.google.com/calendar/r/week",
      "https://www.figma.com/file/onboarding",
    ],
  },
  { app: "Slack", titles: ["#engineering — Acme", "#general — Acme", "Direct message — Acme"] },
  { app: "Terminal", titles: ["bun test — teamtrack", "ssh deploy@api-1", "git log — teamtrack"] },
  { app: "zoom.us", titles: ["Zoom Meeting", "Daily stand-up", "Customer call"] },
  { app: "Figma", titles: ["Onboarding flow — Figma", "Design system — Figma"] },
  { app: "Microsoft Excel", titles: ["Budget 2026.xlsx", "Hiring plan.xlsx"] },
  { app: "Microsoft Outlook", titles: ["Inbox — Outlook", "Calendar — Outlook"] },
];

/** Per-profile weights over APPS (developer, designer, manager). */
const PROFILES: readonly (readonly number[])[] = [
  [40, 15, 5, 12, 18, 5, 1, 1, 3],
  [5, 10, 15, 12, 1, 8, 40, 2, 7],
  [3, 8, 25, 15, 1, 18, 2, 14, 14],
];

export const PROJECT_NAMES = [
  "Website relaunch",
  "Mobile app",
  "Internal tools",
  "Customer support",
  "Billing platform",
  "Data pipeline",
  "Marketing site",
  "Research",
];
export const PROJECT_COLORS = [
  "#2563eb",
  "#16a34a",
  "#dc2626",
  "#9333ea",
  "#ea580c",
  "#0891b2",
  "#ca8a04",
  "#4b5563",
];
export const TAG_NAMES = ["meeting", "review", "bugfix", "planning", "support", "deep work"];
const DESCRIPTIONS = [
  "Feature work",
  "Code review",
  "Planning",
  "Customer call",
  "Bug triage",
  "Documentation",
];

export interface SeedHeartbeat {
  clientId: string;
  time: number;
  durationMs: number;
  app: string;
  title: string | null;
  url: string | null;
  domain: string | null;
  idle: boolean;
  keyboard: number | null;
  mouse: number | null;
}

export interface SeedEntry {
  startAt: number;
  endAt: number | null;
  projectIndex: number;
  description: string;
  tagIndexes: number[];
}

export interface SeedShot {
  takenAt: number;
  app: string;
  title: string | null;
}

export interface SeedDay {
  heartbeats: SeedHeartbeat[];
  entries: SeedEntry[];
  screenshots: SeedShot[];
}

/** A wall-clock time on a local date, as UTC ms (DST-safe: TZDate resolves the offset of that instant). */
export function localTime(date: string, minutes: number, tz: string): number {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return new TZDate(y, m - 1, d, Math.floor(minutes / 60), minutes % 60, 0, 0, tz).getTime();
}

function domainOf(url: string | null): string | null {
  if (!url) return null;
  return new URL(url).hostname.replace(/^www\./, "");
}

export interface DayArgs {
  seed: number;
  memberIndex: number;
  dayIndex: number;
  /** Local date YYYY-MM-DD. */
  date: string;
  tz: string;
  /** Nothing is generated at or after this instant (ms). */
  now: number;
  heartbeatSeconds: number;
  /** 0 developer, 1 designer, 2 manager. */
  profile: number;
  projectCount: number;
  tagCount: number;
  /** Unique per member and run, so client ids never repeat. */
  clientPrefix: string;
}

/**
 * One member's working day: 09:00 ±30 min to 17:30 −30/+45 min local, a 30–60 min lunch around
 * 12:00–13:00 (idle heartbeats from the lock screen), two to four idle stretches of 3–15 min, and
 * 2–25 min sessions in the profile's apps. Time entries follow the morning and afternoon blocks; a
 * block still going on at `now` is a running timer. A screenshot every 8–12 min of active work.
 */
export function workDay(a: DayArgs): SeedDay {
  const rng = rngFor(a.seed, a.memberIndex, a.dayIndex);
  const at = (min: number) => localTime(a.date, min, a.tz);
  const start = at(9 * 60 + rng.int(-30, 30));
  const end = at(17 * 60 + 30 + rng.int(-30, 45));
  const lunchStart = at(12 * 60 + rng.int(0, 60));
  const lunchEnd = lunchStart + rng.int(30, 60) * 60_000;
  const idle: [number, number][] = [[lunchStart, lunchEnd]];
  for (let i = rng.int(2, 4); i > 0; i--) {
    const s = start + rng.int(0, end - start - 900_000);
    idle.push([s, s + rng.int(3, 15) * 60_000]);
  }
  const isIdle = (t: number) => idle.some(([s, e]) => t >= s && t < e);
  const step = a.heartbeatSeconds * 1000;
  const weights = PROFILES[a.profile % PROFILES.length]!;

  const heartbeats: SeedHeartbeat[] = [];
  const screenshots: SeedShot[] = [];
  let sessionEnd = 0;
  let app = APPS[0]!;
  let titleIdx = 0;
  let nextShot = start + rng.int(2, 10) * 60_000;
  let n = 0;
  for (let t = start; t < end && t + step <= a.now; t += step) {
    if (t >= sessionEnd) {
      app = rng.weighted(APPS, weights);
      titleIdx = rng.int(0, app.titles.length - 1);
      sessionEnd = t + rng.int(2, 25) * 60_000;
    }
    const lunch = t >= lunchStart && t < lunchEnd;
    const idleNow = isIdle(t);
    const url = !lunch && app.urls ? app.urls[titleIdx]! : null;
    heartbeats.push({
      clientId: `${a.clientPrefix}-${a.dayIndex}-${n++}`,
      time: t,
      durationMs: step,
      app: lunch ? "LockApp" : app.app,
      title: lunch ? null : app.titles[titleIdx]!,
      url,
      domain: domainOf(url),
      idle: idleNow,
      keyboard: idleNow ? 0 : rng.int(0, 120),
      mouse: idleNow ? 0 : rng.int(5, 200),
    });
    if (t >= nextShot) {
      if (!idleNow) screenshots.push({ takenAt: t, app: app.app, title: app.titles[titleIdx]! });
      nextShot = t + rng.int(8, 12) * 60_000;
    }
  }

  const entries: SeedEntry[] = [];
  const blocks: [number, number][] = [
    [start, lunchStart],
    [lunchEnd, end],
  ];
  // Some afternoons are split between two projects.
  if (rng.chance(0.4)) {
    const mid = lunchEnd + Math.floor((end - lunchEnd) / 2);
    blocks.splice(1, 1, [lunchEnd, mid], [mid, end]);
  }
  for (const [s, e] of blocks) {
    if (s >= a.now) break;
    const running = e > a.now;
    entries.push({
      startAt: s,
      endAt: running ? null : e,
      projectIndex: rng.int(0, a.projectCount - 1),
      description: rng.pick(DESCRIPTIONS),
      tagIndexes: rng.chance(0.5) ? [rng.int(0, a.tagCount - 1)] : [],
    });
    if (running) break;
  }
  return { heartbeats, entries, screenshots };
}

/** SQLite allows 32766 bound parameters per statement; stay below it. */
const MAX_PARAMS = 32_000;

/** Multi-row INSERT statements for `rows` (each `columns.length` long), chunked under MAX_PARAMS. */
export function inserts(table: string, columns: string[], rows: unknown[][]): InStatement[] {
  const per = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  const tuple = `(${columns.map(() => "?").join(",")})`;
  const out: InStatement[] = [];
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    out.push({
      sql: `INSERT INTO ${table} (${columns.join(",")}) VALUES ${chunk.map(() => tuple).join(",")}`,
      args: chunk.flat() as InStatement extends { args?: infer A } ? A : never,
    });
  }
  return out;
}

export const ENTRY_COLUMNS = [
  "id",
  "org_id",
  "member_id",
  "project_id",
  "description",
  "billable",
  "start_at",
  "end_at",
  "source",
  "created_by",
  "created_at",
  "updated_at",
];

export const SCREENSHOT_COLUMNS = [
  "id",
  "org_id",
  "member_id",
  "agent_id",
  "taken_at",
  "app",
  "title",
  "size",
  "width",
  "height",
  "sha256",
  "source_format",
  "source_size",
  "source_sha256",
  "image_key",
  "medium_key",
  "small_key",
  "created_at",
];
