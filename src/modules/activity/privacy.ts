import { RE2JS } from "re2js";
import type { PrivacyRule } from "../tracking-settings/tracking-settings.service";

/** What a redacted value becomes. */
export const REDACTED = "[redacted]";

/** What the rules look at: a heartbeat's fields, or a screenshot's (which has no url, and may lack an app). */
export interface PrivacyInput {
  app: string | null;
  title: string | null;
  url: string | null;
}

interface CompiledRule {
  field: PrivacyRule["field"];
  action: PrivacyRule["action"];
  /** Null when the stored pattern does not compile: the rule then matches every value (fail closed). */
  re: Matcher | null;
}

export interface CompiledRules {
  rules: CompiledRule[];
  /** Patterns that did not compile (settings validation refuses them; old rows might hold one). */
  invalid: string[];
  /** The rule list itself could not be read: everything is dropped (fail closed). */
  dropAll?: boolean;
}

interface Matcher {
  test(value: string): boolean;
}

/**
 * What JavaScript's `\s` matches and RE2's (`[\t\n\f\r ]`) does not: rules were RegExp patterns
 * before, so a value is matched with these turned into plain spaces (a title's no-break space still
 * matches `Bank\s+of`). Only for matching: the value is stored as it came.
 */
const JS_SPACE = /[\v\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;
const JS_SPACE_ALL = new RegExp(JS_SPACE.source, "g");

/**
 * A rule's pattern as a matcher. Patterns are RE2 syntax, matched by RE2JS (a port of RE2 in plain
 * JavaScript, so Workers run it too) in time linear in the value: rules run on the event loop against
 * every heartbeat, and a backtracking engine let one pattern such as `(\w+\s?)+$` and a window title
 * of a few dozen characters (which any web page can set) stall ingest for every organization for
 * seconds. Why RE2JS rather than a check of the pattern: no check of a backtracking pattern is
 * complete (`a.*a.*a.*b` has no nested quantifier and is polynomial). Cost: ~0.3–2.5 µs per value
 * against ~0.05 µs for RegExp (measured on window titles), paid only by organizations with rules.
 * A pattern saved before RE2 (settings now refuse what RE2 cannot compile, i.e. lookaround and
 * backreferences) still runs as the JavaScript RegExp it was accepted as — backtracking, so such a
 * rule should be saved again in RE2 syntax (README); dropping it instead would drop or redact everything.
 */
export function compilePattern(pattern: string): Matcher | null {
  try {
    const re = RE2JS.compile(pattern);
    return { test: (value) => re.test(JS_SPACE.test(value) ? value.replace(JS_SPACE_ALL, " ") : value) };
  } catch {
    try {
      return new RegExp(pattern);
    } catch {
      return null;
    }
  }
}

const cache = new Map<string, CompiledRules>();
const CACHE_MAX = 500;

/**
 * Parses and compiles an organization's `privacyRules` JSON once per distinct value. Patterns are
 * RE2 regular expressions (case-sensitive unless they start with `(?i)`), matching anywhere in the
 * value (`compilePattern`). A rule list that is not valid JSON compiles to "drop everything" (whatever
 * fields a heartbeat or screenshot has), so a broken setting never lets data through.
 */
export function compileRules(json: string | null | undefined): CompiledRules {
  const key = json ?? "[]";
  const hit = cache.get(key);
  if (hit) return hit;
  let out: CompiledRules;
  try {
    const parsed = JSON.parse(key) as unknown;
    if (!Array.isArray(parsed)) throw new Error("not an array");
    const invalid: string[] = [];
    const rules = (parsed as PrivacyRule[]).map((r) => {
      const re = compilePattern(String(r.pattern));
      if (!re) invalid.push(String(r.pattern));
      return { field: r.field, action: r.action === "redact" ? "redact" : "drop", re } as CompiledRule;
    });
    out = { rules, invalid };
  } catch {
    out = { rules: [], invalid: [key.slice(0, 100)], dropAll: true };
  }
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, out);
  return out;
}

/**
 * Applies the rules in order to one heartbeat (or a screenshot's metadata), before anything is stored:
 * - `drop`: when the field's value matches, the whole heartbeat is discarded (returns null);
 * - `redact`: the matching field's value is replaced by `[redacted]`.
 * A rule never matches a heartbeat without that field (a screenshot has no url). Once a field is redacted,
 * later rules see `[redacted]`. The domain is derived afterwards from the stored url, so a redacted
 * url records no domain.
 */
export function applyPrivacy<T extends PrivacyInput>(hb: T, compiled: CompiledRules): T | null {
  if (compiled.dropAll) return null;
  if (compiled.rules.length === 0) return hb;
  const out = { ...hb };
  for (const rule of compiled.rules) {
    const value = out[rule.field];
    if (value == null) continue;
    if (rule.re && !rule.re.test(value)) continue;
    if (rule.action === "drop") return null;
    out[rule.field] = REDACTED;
  }
  return out;
}

/**
 * `domainOf` remembering its last answer: a batch's heartbeats mostly repeat the URL of the one
 * before (the same page, a heartbeat every few seconds), and parsing it was ~6% of ingest's time.
 */
export function domainMemo(): (url: string | null) => string | null {
  let lastUrl: string | null = null;
  let lastDomain: string | null = null;
  return (url) => {
    if (url !== lastUrl) {
      lastUrl = url;
      lastDomain = domainOf(url);
    }
    return lastDomain;
  };
}

/** Host of an http(s) URL, lower case, without a leading `www.`; null for anything else. */
export function domainOf(url: string | null): string | null {
  if (!url || url === REDACTED) return null;
  try {
    const u = new URL(url);
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    return u.hostname.toLowerCase().replace(/^www\./, "") || null;
  } catch {
    return null;
  }
}
