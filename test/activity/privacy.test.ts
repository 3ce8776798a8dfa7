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
    // Patterns are case-sensitive (no flags); a missing field never matches.
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

  test("domains: host of http(s) URLs, lower case, without www.", () => {
    expect(domainOf("https://WWW.Example.COM:8443/a?b")).toBe("example.com");
    expect(domainOf("http://intranet/x")).toBe("intranet");
    expect(domainOf("chrome://settings")).toBeNull();
    expect(domainOf("not a url")).toBeNull();
    expect(domainOf(REDACTED)).toBeNull();
    expect(domainOf(null)).toBeNull();
  });
});
