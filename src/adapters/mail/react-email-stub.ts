/**
 * Workers build only (wrangler.toml [alias]): the resend SDK lazily imports @react-email/render for
 * React templates, which we never send (our templates are plain text + HTML strings). The alias keeps
 * that optional peer out of the bundle; calling it is a programming error.
 */
export function render(): never {
  throw new Error("React email templates are not supported in this build");
}
