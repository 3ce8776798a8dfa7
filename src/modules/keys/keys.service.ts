/**
 * Re-encryption after a key rotation (SPEC 2.6). Operators put a new key first in ENCRYPTION_KEYS
 * and keep the old ones listed; rows stay readable under their recorded key id, and this pass
 * rewrites every ciphertext under the primary key. Each row is swapped with a compare-and-set, so a
 * user re-enrolling 2FA at the same moment is never overwritten with a stale secret.
 */
import type { Db } from "../../db/client";
import { type SecretBox, SecretBoxError } from "../../lib/secret-box";
import type { Logger } from "../../ports/platform";
import * as twoFactorRepo from "../two-factor/two-factor.repo";

const PAGE = 200;

export interface RotationReport {
  scanned: number;
  rotated: number;
  /** Rows whose key is no longer listed, or whose ciphertext fails authentication. */
  unreadable: number;
}

/** One encrypted column: how to page through it, its AAD per row, and how to swap a value. */
interface EncryptedColumn {
  name: string;
  page(db: Db, after: string, limit: number): Promise<{ id: string; ciphertext: string }[]>;
  aad(id: string): string;
  swap(db: Db, id: string, from: string, to: string): Promise<boolean>;
}

/** Every column holding SecretBox ciphertexts. Add new encrypted columns here. */
export const ENCRYPTED_COLUMNS: EncryptedColumn[] = [
  {
    name: "two_factor.secret_ciphertext",
    page: async (db, after, limit) =>
      (await twoFactorRepo.secretsPage(db, after, limit)).map((r) => ({
        id: r.userId,
        ciphertext: r.secretCiphertext,
      })),
    aad: (userId) => `two_factor.secret:${userId}`,
    swap: twoFactorRepo.replaceSecret,
  },
];

export async function rotateEncryptedSecrets(
  deps: { db: Db; secrets: SecretBox; logger: Logger },
  columns: EncryptedColumn[] = ENCRYPTED_COLUMNS,
): Promise<RotationReport> {
  const report: RotationReport = { scanned: 0, rotated: 0, unreadable: 0 };
  for (const column of columns) {
    let after = "";
    for (;;) {
      const rows = await column.page(deps.db, after, PAGE);
      if (rows.length === 0) break;
      for (const row of rows) {
        report.scanned++;
        after = row.id;
        let rotate: boolean;
        try {
          rotate = deps.secrets.needsRotation(row.ciphertext);
          if (!rotate) continue;
          const plain = await deps.secrets.decrypt(row.ciphertext, column.aad(row.id));
          const fresh = await deps.secrets.encrypt(plain, column.aad(row.id));
          if (await column.swap(deps.db, row.id, row.ciphertext, fresh)) report.rotated++;
        } catch (err) {
          if (!(err instanceof SecretBoxError)) throw err;
          report.unreadable++;
          deps.logger.error(
            { column: column.name, id: row.id, reason: err.reason },
            "cannot re-encrypt a secret",
          );
        }
      }
    }
  }
  return report;
}
