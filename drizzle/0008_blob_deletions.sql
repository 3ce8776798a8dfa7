CREATE TABLE `blob_deletions` (
	`key` text PRIMARY KEY NOT NULL,
	`queued_at` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_error` text
);
--> statement-breakpoint
CREATE INDEX `blob_deletions_due_idx` ON `blob_deletions` (`next_attempt_at`);--> statement-breakpoint
-- Not in the drizzle schema (drizzle-kit has no triggers): see `blobDeletions` in src/db/schema/screenshots.ts.
-- Fires for every deleted screenshot row, the cascade from a removed membership or organization included.
CREATE TRIGGER `screenshots_queue_blobs` AFTER DELETE ON `screenshots` BEGIN
	INSERT OR IGNORE INTO `blob_deletions` (`key`, `queued_at`, `attempts`, `next_attempt_at`)
	SELECT k, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 0, 0
	FROM (SELECT old.`image_key` AS k UNION ALL SELECT old.`medium_key` UNION ALL SELECT old.`small_key`);
END;
