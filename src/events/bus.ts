import { and, asc, eq, lte, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db/client";
import { outboxEvents } from "../db/schema";
import { newId } from "../lib/ids";
import type { Clock } from "../ports/clock";
import type { Logger } from "../ports/platform";
import type { DomainEvent, DomainEvents, EventType } from "./types";

type Handler<T extends EventType> = (event: DomainEvent<T>) => void | Promise<void>;

interface DurableConsumer {
  name: string;
  types: Set<string> | "*";
  handle: (event: DomainEvent) => Promise<void>;
}

export interface RelayResult {
  delivered: number;
  failed: number;
  dead: number;
}

/** Backoff for durable deliveries: 30 s, 1 min, 2 min … capped at 1 h, with ±20 % jitter. */
export function retryDelayMs(attempt: number, random = Math.random): number {
  const base = Math.min(30_000 * 2 ** (attempt - 1), 3_600_000);
  return Math.round(base * (0.8 + 0.4 * random()));
}

/**
 * Typed domain-event bus.
 *
 * - In-process subscribers (`on`) run after the change is committed, off the request path, and are
 *   best effort: realtime fan-out, cache invalidation, metrics.
 * - Durable consumers (`consume`) get one outbox row per event, written by `record()` in the same
 *   `db.batch` as the change itself. A crash after commit loses nothing: the relay (kicked after
 *   publish and run by the `events.relay` job) delivers due rows, with retries and a dead letter.
 */
export class EventBus {
  readonly #handlers = new Map<string, Set<Handler<EventType>>>();
  readonly #durable = new Map<string, DurableConsumer>();
  #relaying: Promise<RelayResult> | null = null;
  #again = false;

  constructor(
    private readonly deps: { db: Db; clock: Clock; logger: Logger; defer: (p: Promise<unknown>) => void },
    private readonly maxAttempts = 8,
  ) {}

  on<T extends EventType>(type: T | "*", handler: Handler<T>): () => void {
    const set = this.#handlers.get(type) ?? new Set();
    set.add(handler as Handler<EventType>);
    this.#handlers.set(type, set);
    return () => set.delete(handler as Handler<EventType>);
  }

  /** Registers a durable consumer. Its name is stored with every row: keep it stable. */
  consume(name: string, types: EventType[] | "*", handle: (event: DomainEvent) => Promise<void>): void {
    this.#durable.set(name, { name, types: types === "*" ? "*" : new Set(types), handle });
  }

  create<T extends EventType>(
    type: T,
    payload: DomainEvents[T],
    meta: { orgId?: string | null; actor?: string | null } = {},
  ): DomainEvent<T> {
    const occurredAt = this.deps.clock.now();
    return {
      id: newId("event", occurredAt),
      type,
      orgId: meta.orgId ?? null,
      actor: meta.actor ?? null,
      occurredAt,
      payload,
    };
  }

  /** Outbox inserts for the durable consumers of this event; put them in the same batch as the change. */
  record(event: DomainEvent): BatchItem<"sqlite">[] {
    const { db, clock } = this.deps;
    const rows = [...this.#durable.values()]
      .filter((c) => c.types === "*" || c.types.has(event.type))
      .map((c) => ({
        id: newId("outbox", clock.now()),
        eventId: event.id,
        consumer: c.name,
        type: event.type,
        orgId: event.orgId,
        payload: JSON.stringify({ payload: event.payload, actor: event.actor }),
        occurredAt: event.occurredAt,
        nextAttemptAt: event.occurredAt,
      }));
    return rows.length ? [db.insert(outboxEvents).values(rows).onConflictDoNothing()] : [];
  }

  /** After commit: run in-process subscribers and kick the relay, both off the request path. */
  publish(event: DomainEvent): void {
    const handlers = [...(this.#handlers.get(event.type) ?? []), ...(this.#handlers.get("*") ?? [])];
    for (const h of handlers) {
      this.deps.defer(
        Promise.resolve()
          .then(() => h(event))
          .catch((err) =>
            this.deps.logger.error(
              { err, eventType: event.type, eventId: event.id },
              "event subscriber failed",
            ),
          ),
      );
    }
    if (this.#durable.size && this.record(event).length) this.deps.defer(this.relay());
  }

  /** For callers with no write of their own: record (atomically) then publish. */
  async emit(event: DomainEvent): Promise<void> {
    const items = this.record(event);
    if (items.length) await this.deps.db.batch(items as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
    this.publish(event);
  }

  /**
   * Delivers due outbox rows. Concurrent calls in one process share one run; a call made while a
   * pass is under way makes the run take one more pass when it ends, so a row committed after the
   * pass read its rows is delivered now rather than at the next `events.relay` tick.
   */
  relay(limit = 100): Promise<RelayResult> {
    if (this.#relaying) {
      this.#again = true;
      return this.#relaying;
    }
    const run = async () => {
      const total: RelayResult = { delivered: 0, failed: 0, dead: 0 };
      do {
        this.#again = false;
        const r = await this.#relayOnce(limit);
        total.delivered += r.delivered;
        total.failed += r.failed;
        total.dead += r.dead;
      } while (this.#again);
      return total;
    };
    this.#relaying = run().finally(() => (this.#relaying = null));
    return this.#relaying;
  }

  async #relayOnce(limit: number): Promise<RelayResult> {
    const { db, clock, logger } = this.deps;
    const result: RelayResult = { delivered: 0, failed: 0, dead: 0 };
    const due = await db
      .select()
      .from(outboxEvents)
      .where(and(eq(outboxEvents.status, "pending"), lte(outboxEvents.nextAttemptAt, clock.now())))
      .orderBy(asc(outboxEvents.nextAttemptAt))
      .limit(limit);
    for (const row of due) {
      const consumer = this.#durable.get(row.consumer);
      if (!consumer) continue; // consumer not registered in this build: leave the row for one that is
      // Claim the row by bumping attempts from the value we read: only one instance wins it.
      const claim = await db
        .update(outboxEvents)
        .set({ attempts: row.attempts + 1, nextAttemptAt: new Date(clock.now().getTime() + 5 * 60_000) })
        .where(
          and(
            eq(outboxEvents.id, row.id),
            eq(outboxEvents.attempts, row.attempts),
            eq(outboxEvents.status, "pending"),
          ),
        )
        .returning({ id: outboxEvents.id });
      if (claim.length === 0) continue;
      const body = JSON.parse(row.payload) as { payload: unknown; actor: string | null };
      const event = {
        id: row.eventId,
        type: row.type,
        orgId: row.orgId,
        actor: body.actor,
        occurredAt: row.occurredAt,
        payload: body.payload,
      } as DomainEvent;
      try {
        await consumer.handle(event);
        await db
          .update(outboxEvents)
          .set({ status: "done", processedAt: clock.now(), lastError: null })
          .where(eq(outboxEvents.id, row.id));
        result.delivered++;
      } catch (err) {
        const attempts = row.attempts + 1;
        const dead = attempts >= this.maxAttempts;
        await db
          .update(outboxEvents)
          .set({
            status: dead ? "dead" : "pending",
            lastError: String((err as Error).message ?? err).slice(0, 1000),
            nextAttemptAt: new Date(clock.now().getTime() + retryDelayMs(attempts)),
          })
          .where(eq(outboxEvents.id, row.id));
        logger.warn(
          { err, consumer: row.consumer, eventId: row.eventId, attempts, dead },
          "durable event delivery failed",
        );
        if (dead) result.dead++;
        else result.failed++;
      }
    }
    return result;
  }

  /** Pending durable deliveries (queue depth for health and metrics). */
  async pendingCount(): Promise<number> {
    const rows = await this.deps.db
      .select({ n: sql<number>`count(*)` })
      .from(outboxEvents)
      .where(eq(outboxEvents.status, "pending"));
    return Number(rows[0]?.n ?? 0);
  }
}
