import { describe, expect, test } from "bun:test";
import {
  escapeHtml,
  renderExistingAccountNotice,
  renderInvitation,
  renderPasswordChanged,
  renderPasswordReset,
  renderPasswordResetConfirmation,
  renderVerification,
} from "../../src/modules/mail/templates";

const ctx = { publicUrl: "https://tt.example.com" };
const evil = `Eve <img src=x onerror=alert(1)> "&" 'x'\r\nBcc: victim@example.com`;
const at = new Date("2026-01-05T09:00:00.000Z");

const all = [
  renderVerification(ctx, { to: "a@example.com", name: evil, token: "tok_verify", expiresInHours: 48 }),
  renderPasswordReset(ctx, { to: "a@example.com", name: evil, token: "tok_reset", expiresInMinutes: 60 }),
  renderPasswordResetConfirmation(ctx, { to: "a@example.com", name: evil, at }),
  renderPasswordChanged(ctx, { to: "a@example.com", name: evil, at }),
  renderExistingAccountNotice(ctx, { to: "a@example.com", name: evil }),
  renderInvitation(ctx, {
    to: "a@example.com",
    orgName: evil,
    inviterName: evil,
    role: "manager",
    token: "tok_invite",
    expiresAt: at,
  }),
];

describe("mail templates", () => {
  test("every template has a subject, a text part and an HTML part, and names itself", () => {
    expect(new Set(all.map((m) => m.template)).size).toBe(all.length);
    for (const m of all) {
      expect(m.to).toBe("a@example.com");
      expect(m.subject.length).toBeGreaterThan(5);
      expect(m.text.length).toBeGreaterThan(20);
      expect(m.html).toStartWith("<!doctype html>");
      expect(m.text).not.toMatch(/<(p|a|div|html|br)[\s>]/); // plain text, not markup
    }
  });

  test("user data is escaped in HTML and kept to one line in subjects", () => {
    for (const m of all) {
      expect(m.html).not.toContain("<img");
      expect(m.html).not.toContain('"&"');
      expect(m.subject).not.toMatch(/[\r\n]/);
    }
    expect(all[0]!.html).toContain("Eve &lt;img src=x onerror=alert(1)&gt; &quot;&amp;&quot; &#39;x&#39;");
    expect(all[5]!.subject).toContain("Eve <img"); // subjects are plain text, one line
    expect(escapeHtml(`<a href="x">&'`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  });

  test("links are built from publicUrl, in both parts", () => {
    const links: [number, string][] = [
      [0, "https://tt.example.com/verify-email?token=tok_verify"],
      [1, "https://tt.example.com/reset-password?token=tok_reset"],
      [5, "https://tt.example.com/accept-invitation?token=tok_invite"],
    ];
    for (const [i, url] of links) {
      expect(all[i]!.text).toContain(url);
      expect(all[i]!.html).toContain(`href="${url}"`);
    }
    expect(all[2]!.text).toContain("https://tt.example.com/forgot-password");
  });
});
