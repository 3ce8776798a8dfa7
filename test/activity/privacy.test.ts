import { describe, expect, test } from "bun:test";
import { applyPrivacy, compileRules, domainOf, REDACTED } from "../../src/modules/activity/privacy";

const hb = { app: "Firefox", title: "Payroll — March", url: "https://bank.example.com/x" };

describe("privacy rules", () => {
  test("rules apply in order: redact replaces the value, later rules see [redacted], drop discards", () => {
    const rules = compileRules(
      JSON.stringify([
        { field: "title", pattern: "Payroll", action: "redact" },
        { field: "title", pattern: "^\\[redacted\\]$", action: "redact" },
        { field: "url", pattern: "bank\\.", action: "redact" },
      ]),
    );
    expect(applyPrivacy(hb, rules)).toEqual({ app: "Firefox", title: REDACTED, url: REDACTED });
    const drop = compileRules(JSON.stringify([{ field: "app", pattern: "^Fire", action: "drop" }]));
    expect(applyPrivacy(hb, drop)).toBeNull();
    // Patterns are case-sensitive unless they say (?i); a missing field never matches.
    const none = compileRules(JSON.stringify([{ field: "title", pattern: "payroll", action: "drop" }]));
    expect(applyPrivacy(hb, none)).toEqual(hb);
    expect(
      applyPrivacy(
        { app: "X", title: null, url: null },
        compileRules('[{"field":"url","pattern":"","action":"drop"}]'),
      ),
    ).toEqual({
      app: "X",
      title: null,
      url: null,
    });
  });

  test("fail closed: a pattern that does not compile matches everything; unreadable rules drop every heartbeat", () => {
    const bad = compileRules(JSON.stringify([{ field: "title", pattern: "(", action: "redact" }]));
    expect(bad.invalid).toEqual(["("]);
    expect(applyPrivacy(hb, bad)?.title).toBe(REDACTED);
    expect(applyPrivacy(hb, compileRules("not json"))).toBeNull();
    expect(applyPrivacy(hb, compileRules("{}"))).toBeNull();
    // Whatever fields the input has: a screenshot may carry no app, title or url at all.
    expect(applyPrivacy({ app: null, title: null, url: null }, compileRules("not json"))).toBeNull();
  });

  test("patterns match in linear time: rules that backtrack exponentially in JavaScript are harmless", () => {
    // With RegExp, each of these takes 2^n steps on a value of n characters that does not match:
    // ~1 s at 26 characters and doubling with each one (any web page sets its own window title).
    const rules = compileRules(
      JSON.stringify([
        { field: "title", pattern: "(\\w+\\s?)+$", action: "redact" },
        { field: "title", pattern: "(a|aa)+$", action: "redact" },
        { field: "title", pattern: "a.*a.*a.*a.*a.*b", action: "drop" },
      ]),
    );
    expect(rules.invalid).toEqual([]);
    const title = `${"a".repeat(2000)}!`;
    // None matches (the `!` ends it), so the heartbeat is kept as it was.
    expect(applyPrivacy({ ...hb, title }, rules)).toEqual({ ...hb, title });
    // And they still match what they should.
    expect(applyPrivacy({ ...hb, title: "aaa" }, rules)?.title).toBe(REDACTED);
  });

  test("RE2 syntax: (?i) for case-insensitive; a pattern saved before RE2 that only RegExp knows still applies", () => {
    const ci = compileRules(JSON.stringify([{ field: "title", pattern: "(?i)payroll", action: "drop" }]));
    expect(ci.invalid).toEqual([]);
    expect(applyPrivacy(hb, ci)).toBeNull();
    expect(applyPrivacy({ ...hb, title: "Pay day" }, ci)?.title).toBe("Pay day");
    // Lookahead: refused by today's settings, but a stored rule keeps working as it did.
    const legacy = compileRules(
      JSON.stringify([{ field: "title", pattern: "Pay(?=roll)", action: "redact" }]),
    );
    expect(legacy.invalid).toEqual([]);
    expect(applyPrivacy(hb, legacy)?.title).toBe(REDACTED);
    expect(applyPrivacy({ ...hb, title: "Payday" }, legacy)?.title).toBe("Payday");
  });

  test("\\s matches the spaces it matched as a RegExp (no-break space, narrow no-break space, \\v)", () => {
    const rules = compileRules(
      JSON.stringify([{ field: "title", pattern: "Bank\\s+of\\s+America", action: "redact" }]),
    );
    for (const title of ["Bank of America", "Bank\u00a0of\u202fAmerica", "Bank\vof\u3000America"])
      expect(applyPrivacy({ ...hb, title }, rules)?.title).toBe(REDACTED);
    // Only for matching: a kept value is stored as it came.
    const other = "Bank\u00a0of\u00a0Ireland";
    expect(applyPrivacy({ ...hb, title: other }, rules)?.title).toBe(other);
  });

  test("domains: host of http(s) URLs, lower case, without www.", () => {
    expect(domainOf("https://WWW.Example.COM:8443/a?b")).toBe("example.com");
    expect(domainOf("http://intranet/x")).toBe("intranet");
    expect(domainOf("chrome://settings")).toBeNull();
    expect(domainOf("not a url")).toBeNull();
    expect(domainOf(REDACTED)).toBeNull();
    expect(domainOf(null)).toBeNull();
  });
});
