import { migrate, pendingMigrations } from "../db/migrate";
import { migrations } from "../db/migrations.generated";
import { EXIT, type Io, withContext } from "./context";

export const migrateHelp = `Usage: teamtrack migrate [--dry-run]

Applies pending database migrations (the SQL under drizzle/, bundled in src/db/migrations.generated.ts)
to DATABASE_URL, each in one atomic batch, and prints the tags it applied, or "up to date".

Options:
  --dry-run     List pending migrations without applying them
  -h, --help    Show this help`;

export async function migrateCommand(opts: { dryRun: boolean }, io: Io): Promise<number> {
  // migrate: false so this command, not the platform, applies them and can report what it did.
  return withContext({ migrate: false }, async ({ platform }) => {
    const where = redactUrl(platform.config.databaseUrl);
    if (opts.dryRun) {
      const pending = await pendingMigrations(platform.db, migrations);
      if (pending.length === 0) io.out(upToDate(where));
      else for (const m of pending) io.out(`pending  ${m.tag}`);
      return EXIT.ok;
    }
    const { applied } = await migrate(platform.db, migrations);
    if (applied.length === 0) io.out(upToDate(where));
    else {
      for (const tag of applied) io.out(`applied  ${tag}`);
      io.out(`Applied ${plural(applied.length)} to ${where}.`);
    }
    return EXIT.ok;
  });
}

const plural = (n: number) => `${n} migration${n === 1 ? "" : "s"}`;
const upToDate = (where: string) => `Database ${where} is up to date (${plural(migrations.length)} applied).`;

/** Database URLs may carry credentials (`libsql://user:pass@…`, `?authToken=`): never print those. */
function redactUrl(url: string): string {
  return url
    .replace(/\/\/[^/@]*@/, "//***@")
    .replace(/([?&](?:authToken|auth_token|token)=)[^&]*/gi, "$1***");
}
