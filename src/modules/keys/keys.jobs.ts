import { defineJob } from "../../jobs/define";
import { SecretBox } from "../../lib/secret-box";
import { rotateEncryptedSecrets } from "./keys.service";

/** Re-encrypts secrets still under an older ENCRYPTION_KEYS entry (also `teamtrack keys rotate`). */
export const rotateKeysJob = defineJob({
  id: "keys.rotate",
  cron: "45 4 * * *",
  description: "Re-encrypt stored secrets under the primary ENCRYPTION_KEYS key",
  run: async ({ platform }) => {
    const report = await rotateEncryptedSecrets({
      db: platform.db,
      secrets: new SecretBox(platform.config.encryptionKeys),
      logger: platform.logger,
    });
    if (report.unreadable > 0)
      throw new Error(`${report.unreadable} secret(s) could not be decrypted with any listed key`);
    return { ...report };
  },
});

export const keyJobs = [rotateKeysJob];
