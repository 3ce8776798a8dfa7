/**
 * Span building (ActivityWatch's heartbeat merge), as a pure function over stored heartbeats.
 *
 * Heartbeats are taken in (time, client id) order. One with the same app, title, url and idle flag
 * as the current span, starting no later than `pulsetime` after the span's latest end, extends the
 * span; anything else starts a new span. A span is then clipped at the next span's start, so spans
 * never overlap, and stored as pieces that never cross a UTC hour boundary.
 *
 * Ingest rebuilds only from the last span before its batch ("carry"): the spans before it cannot
 * change, and the carry's start, latest end, heartbeat count and last key are all the merge needs.
 * Since the result depends only on the set of stored heartbeats, any delivery order (late, out of
 * order, retried) gives the same spans.
 */

export const PIECE_MS = 3_600_000;

export interface SpanData {
  app: string;
  title: string | null;
  url: string | null;
  domain: string | null;
  idle: boolean;
}

export interface SpanHeartbeat extends SpanData {
  clientId: string;
  time: number;
  durationMs: number;
}

/** The last span before a batch, as stored on its pieces. */
export interface Carry extends SpanData {
  spanStart: number;
  maxEnd: number;
  lastTime: number;
  lastClientId: string;
  heartbeats: number;
}

export interface Piece extends Carry {
  startAt: number;
  endAt: number;
}

/** Sort key order of heartbeats: time, then client id. */
export function compareKeys(
  a: { time: number; clientId: string },
  b: { time: number; clientId: string },
): number {
  return a.time - b.time || (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0);
}

const sameData = (a: SpanData, b: SpanData) =>
  a.app === b.app && a.title === b.title && a.url === b.url && a.idle === b.idle;

/**
 * Spans from `carry` (or nothing) followed by `hbs`, which must be sorted by key and all after the
 * carry's last key; returned as hour pieces in stream order.
 */
export function buildPieces(carry: Carry | null, hbs: SpanHeartbeat[], pulsetimeMs: number): Piece[] {
  const spans: Carry[] = carry ? [{ ...carry }] : [];
  for (const h of hbs) {
    const cur = spans[spans.length - 1];
    if (cur && sameData(cur, h) && h.time <= cur.maxEnd + pulsetimeMs) {
      cur.maxEnd = Math.max(cur.maxEnd, h.time + h.durationMs);
      cur.lastTime = h.time;
      cur.lastClientId = h.clientId;
      cur.heartbeats++;
    } else {
      spans.push({
        app: h.app,
        title: h.title,
        url: h.url,
        domain: h.domain,
        idle: h.idle,
        spanStart: h.time,
        maxEnd: h.time + h.durationMs,
        lastTime: h.time,
        lastClientId: h.clientId,
        heartbeats: 1,
      });
    }
  }
  const pieces: Piece[] = [];
  spans.forEach((span, i) => {
    const next = spans[i + 1];
    const end = next ? Math.min(span.maxEnd, next.spanStart) : span.maxEnd;
    let start = span.spanStart;
    do {
      const pieceEnd = Math.min(end, (Math.floor(start / PIECE_MS) + 1) * PIECE_MS);
      pieces.push({ ...span, startAt: start, endAt: pieceEnd });
      start = pieceEnd;
    } while (start < end);
  });
  return pieces;
}

/** Per UTC hour: active and idle ms the new pieces add minus what the replaced ones held. */
export function hourDeltas(
  removed: { startAt: number; endAt: number; idle: boolean }[],
  added: { startAt: number; endAt: number; idle: boolean }[],
): [hour: number, activeMs: number, idleMs: number][] {
  const byHour = new Map<number, [number, number]>();
  const add = (p: { startAt: number; endAt: number; idle: boolean }, sign: number) => {
    const hour = p.startAt - (p.startAt % PIECE_MS);
    const v = byHour.get(hour) ?? [0, 0];
    v[p.idle ? 1 : 0] += sign * (p.endAt - p.startAt);
    byHour.set(hour, v);
  };
  for (const p of removed) add(p, -1);
  for (const p of added) add(p, 1);
  return [...byHour].filter(([, v]) => v[0] !== 0 || v[1] !== 0).map(([h, v]) => [h, v[0], v[1]]);
}
