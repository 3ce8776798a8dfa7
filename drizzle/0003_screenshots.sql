CREATE TABLE `screenshots` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`member_id` text NOT NULL,
	`agent_id` text,
	`taken_at` integer NOT NULL,
	`app` text,
	`title` text,
	`size` integer NOT NULL,
	`width` integer NOT NULL,
	`height` integer NOT NULL,
	`sha256` text NOT NULL,
	`source_format` text NOT NULL,
	`source_size` integer NOT NULL,
	`source_sha256` text NOT NULL,
	`image_key` text NOT NULL,
	`medium_key` text NOT NULL,
	`small_key` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`member_id`) REFERENCES `memberships`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`agent_id`) REFERENCES `api_tokens`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `screenshots_org_taken_idx` ON `screenshots` (`org_id`,`taken_at`,`id`);--> statement-breakpoint
CREATE INDEX `screenshots_member_taken_idx` ON `screenshots` (`member_id`,`taken_at`,`id`);--> statement-breakpoint
CREATE INDEX `screenshots_agent_idx` ON `screenshots` (`agent_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `screenshots_member_source_uq` ON `screenshots` (`member_id`,`source_sha256`,`taken_at`);