import type { Db } from "../../db/client";
import { KeyedSerializer } from "../../db/group-commit";
import type { Presence } from "../../db/schema";
import type { EventBus } from "../../events/bus";
import { AppError, type FieldError } from "../../lib/errors";
import type { Clock } from "../../ports/clock";
import type { Logger } from "../../ports/platform";
import "./activity.events";
import { MIN_INSTANT } from "../../http/fields";
import { isGuardFailure } from "../time/time.db";
import { MAX_CLOCK_SKEW_MS } from "./activity.routes";
import {
  firstKey,
  firstSightings,
  INGEST_ATTEMPTS,
  type IngestKey,
  type IngestState,
  type PresenceSample,
  planIngest,
  readIngestState,
  type StoredHeartbeat,
} from "./ingest.repo";
import { ingestTails, keyOf } from "./ingest.tail";
import { ingestWriter } from "./ingest.writer";
import { applyPrivacy, compileRules, domainMemo } from "./privacy";

export interface IngestDeps {
  db: Db;
  clock: Clock;
  events: EventBus;
  logger: Logger;
}

export interface HeartbeatInput {
  id: string;
  time: string;
  duration: number;
  app: string;
  title?: string | null;
  url?: string | null;
  idle: boolean;
  keyboard?: number | null;
  mouse?: number | null;
}

export interface IngestOutcome {
  orgId: string;
  memberId: string;
  accepted: number;
  duplicates: number;
  dropped: number;
  status: Presence;
}

const DEFAULT_PULSETIME_S = 60;
const DEFAULT_IDLE_THRESHOLD_S = 300;

/** A heartbeat's key: its time in ms and its client id. */
type Key = IngestKey["first"];

/**
 * Each heartbeat's key, its time parsed once (the route checked the format); 422 naming each time
 * before 2000 or too far ahead of the server's clock.
 */
function heartbeatKeys(input: HeartbeatInput[], now: number): Key[] {
  const keys: Key[] = new Array(input.length);
  const errors: FieldError[] = [];
  const fail = (i: number, message: string, code: string) =>
    errors.push({ path: `heartbeats.${i}.time`, message, code, location: "body" } as FieldError);
  for (let i = 0; i < input.length; i++) {
    const h = input[i] as HeartbeatInput;
    const time = Date.parse(h.time);
    keys[i] = { time, clientId: h.id };
    if (time < MIN_INSTANT) fail(i, "must be after 2000-01-01", "too_small");
    else if (time > now + MAX_CLOCK_SKEW_MS)
      fail(i, `must not be more than ${MAX_CLOCK_SKEW_MS / 60_000} minutes in the future`, "too_big");
  }
  if (errors.length) throw new AppError(422, "VALIDATION_FAILED", "Invalid request body", { errors });
  return keys;
}

/**
 * Agent input → the rows to store: duplicates (already stored, or repeated in the batch: the same
 * client id at the same time, `heartbeatKey`) removed, privacy rules applied, times in ms.
 */
export function prepareHeartbeats(
  input: HeartbeatInput[],
  keys: Key[],
  rulesJson: string | null,
  known: Set<string>,
): { rows: StoredHeartbeat[]; duplicates: number; dropped: PresenceSample[] } {
  const rules = compileRules(rulesJson);
  const isNew = firstSightings(known, keys);
  const domain = domainMemo();
  const rows: StoredHeartbeat[] = [];
  let duplicates = 0;
  const dropped: PresenceSample[] = [];
  for (let i = 0; i < input.length; i++) {
    const h = input[i] as HeartbeatInput;
    const { time } = keys[i] as Key;
    if (!isNew(time, h.id)) {
      duplicates++;
      continue;
    }
    const kept = applyPrivacy({ app: h.app, title: h.title ?? null, url: h.url ?? null }, rules);
    if (!kept) {
      const durationMs = Math.round(h.duration * 1000);
      dropped.push({
        clientId: h.id,
        time,
        durationMs,
        idle: h.idle,
        keyboard: h.keyboard ?? null,
        mouse: h.mouse ?? null,
      });
      continue;
    }
    rows.push({
      clientId: h.id,
      time,
      durationMs: Math.round(h.duration * 1000),
      app: kept.app,
      title: kept.title || null,
      url: kept.url || null,
      domain: domain(kept.url),
      idle: h.idle,
      keyboard: h.keyboard ?? null,
      mouse: h.mouse ?? null,
    });
  }
  return { rows, duplicates, dropped };
}

/**
 * Stores an agent's batch: a read batch (member, settings, the spans to rebuild), the rebuild in
 * code, and one guarded write batch (heartbeats, pieces, hourly rollup, presence). An in-order batch
 * right after this process's previous ingest of the member skips the read (see ingest.tail.ts).
 * Emits `member.status_changed` when the status moved.
 */
export async function ingestHeartbeats(
  deps: IngestDeps,
  agent: { orgId: string; userId: string; actor: string },
  input: HeartbeatInput[],
): Promise<IngestOutcome> {
  const keys = heartbeatKeys(input, deps.clock.ms());
  // One ingest of a member at a time in this process (its batches from several devices queue);
  // different members run concurrently and are committed in groups (ingest.writer.ts).
  return memberQueue.run(keyOf(agent.orgId, agent.userId), () => ingestSerial(deps, agent, input, keys));
}

const memberQueue = new KeyedSerializer();

async function ingestSerial(
  deps: IngestDeps,
  agent: { orgId: string; userId: string; actor: string },
  input: HeartbeatInput[],
  keys: Key[],
): Promise<IngestOutcome> {
  const now = deps.clock.ms();
  const first = firstKey(keys);
  const tail = ingestTails.get(agent.orgId, agent.userId, first);
  if (tail) {
    const state = {
      member: tail.member,
      known: new Set<string>(),
      carry: tail.carry,
      after: [],
      replaced: tail.carryPieces,
    };
    const out = await attempt(deps, agent, input, keys, state, now);
    if (out) return out;
    ingestTails.forget(agent.orgId, agent.userId);
  }
  const key = {
    orgId: agent.orgId,
    member: { userId: agent.userId },
    first,
    keys,
  };
  for (let i = 0; i < INGEST_ATTEMPTS; i++) {
    const out = await attempt(deps, agent, input, keys, await readIngestState(deps.db, key), now);
    if (out) return out;
    deps.logger.debug(
      { userId: agent.userId, attempt: i },
      "concurrent ingest moved the member's spans; retrying",
    );
  }
  throw new AppError(409, "CONFLICT", "Concurrent ingests of this member kept conflicting; retry the batch");
}

/** Plans and commits the batch on `state`; null when a guard found the state moved. */
async function attempt(
  deps: IngestDeps,
  agent: { orgId: string; userId: string; actor: string },
  input: HeartbeatInput[],
  keys: Key[],
  state: IngestState,
  now: number,
): Promise<IngestOutcome | null> {
  const { db, events } = deps;
  const member = state.member;
  if (!member) throw new AppError(403, "FORBIDDEN", "This agent's member is no longer in the organization");
  const { rows, duplicates, dropped } = prepareHeartbeats(input, keys, member.privacyRules, state.known);
  const base = { orgId: agent.orgId, memberId: member.id, duplicates, dropped: dropped.length };
  // A retried batch (all stored already) says nothing new; dropped heartbeats still count for presence.
  if (rows.length === 0 && dropped.length === 0) return { ...base, accepted: 0, status: member.status };
  const plan = planIngest(
    state,
    rows,
    {
      orgId: agent.orgId,
      memberId: member.id,
      now,
      pulsetimeMs: (member.pulsetimeSeconds ?? DEFAULT_PULSETIME_S) * 1000,
      idleThresholdMs: (member.idleThresholdSeconds ?? DEFAULT_IDLE_THRESHOLD_S) * 1000,
      status: member.status,
      agentId: agent.actor,
    },
    dropped,
  );
  let next: Presence;
  try {
    next = (await ingestWriter(db).submit(plan)) ?? member.status;
  } catch (err) {
    if (isGuardFailure(err)) return null;
    throw err;
  }
  // A presence-only write moved the version without a span to carry: the next batch reads again.
  if (rows.length) ingestTails.remember(agent.orgId, agent.userId, member, plan, next);
  else ingestTails.forget(agent.orgId, agent.userId);
  if (next !== member.status)
    await events.emit(
      events.create(
        "member.status_changed",
        { membershipId: member.id, userId: agent.userId, from: member.status, to: next },
        { orgId: agent.orgId, actor: agent.actor },
      ),
    );
  return { ...base, accepted: rows.length, status: next };
}
