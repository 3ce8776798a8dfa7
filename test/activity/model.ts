/**
 * Reference model of span building, written as the plain sequential loop of ActivityWatch's
 * heartbeat merge (plus clipping and hour pieces), independent of the SQL that implements it.
 */
const HOUR = 3_600_000;

export interface ModelHeartbeat {
  id: string;
  time: number;
  durationMs: number;
  app: string;
  title: string | null;
  url: string | null;
  idle: boolean;
}

export interface ModelPiece {
  start: number;
  end: number;
  spanStart: number;
  app: string;
  title: string | null;
  url: string | null;
  idle: boolean;
  heartbeats: number;
}

export function modelPieces(input: ModelHeartbeat[], pulsetimeMs: number): ModelPiece[] {
  const seen = new Set<string>();
  const hbs = input.filter((h) => !seen.has(h.id) && seen.add(h.id));
  hbs.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  type Span = { start: number; maxEnd: number; end: number; h: ModelHeartbeat; n: number };
  const spans: Span[] = [];
  for (const h of hbs) {
    const cur = spans[spans.length - 1];
    const same =
      cur && cur.h.app === h.app && cur.h.title === h.title && cur.h.url === h.url && cur.h.idle === h.idle;
    if (cur && same && h.time <= cur.maxEnd + pulsetimeMs) {
      cur.maxEnd = Math.max(cur.maxEnd, h.time + h.durationMs);
      cur.n++;
    } else spans.push({ start: h.time, maxEnd: h.time + h.durationMs, end: 0, h, n: 1 });
  }
  spans.forEach((s, i) => {
    const next = spans[i + 1];
    s.end = next ? Math.min(s.maxEnd, next.start) : s.maxEnd;
  });
  const pieces: ModelPiece[] = [];
  for (const s of spans) {
    let ps = s.start;
    do {
      const pe = Math.min(s.end, (Math.floor(ps / HOUR) + 1) * HOUR);
      pieces.push({
        start: ps,
        end: pe,
        spanStart: s.start,
        app: s.h.app,
        title: s.h.title,
        url: s.h.url,
        idle: s.h.idle,
        heartbeats: s.n,
      });
      ps = pe;
    } while (ps < s.end);
  }
  return pieces;
}
