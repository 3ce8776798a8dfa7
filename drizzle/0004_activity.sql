CREATE TABLE `activity_hours` (
	`member_id` text NOT NULL,
	`hour` integer NOT NULL,
	`org_id` text NOT NULL,
	`active_ms` integer NOT NULL,
	`idle_ms` integer NOT NULL,
	PRIMARY KEY(`member_id`, `hour`),
	FOREIGN KEY (`member_id`) REFERENCES `memberships`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `activity_hours_member_hour_cover_idx` ON `activity_hours` (`member_id`,`hour`,`active_ms`,`idle_ms`);--> statement-breakpoint
CREATE TABLE `activity_spans` (
	`id` integer PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`member_id` text NOT NULL,
	`start_at` integer NOT NULL,
	`end_at` integer NOT NULL,
	`span_start` integer NOT NULL,
	`max_end` integer NOT NULL,
	`last_time` integer NOT NULL,
	`last_client_id` text NOT NULL,
	`app` text NOT NULL,
	`title` text,
	`url` text,
	`domain` text,
	`idle` integer NOT NULL,
	`heartbeats` integer NOT NULL,
	FOREIGN KEY (`member_id`) REFERENCES `memberships`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `activity_spans_member_start_idx` ON `activity_spans` (`member_id`,`start_at`);--> statement-breakpoint
CREATE INDEX `activity_spans_member_last_idx` ON `activity_spans` (`member_id`,`last_time`,`last_client_id`);--> statement-breakpoint
CREATE TABLE `heartbeats` (
	`id` integer PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`member_id` text NOT NULL,
	`client_id` text NOT NULL,
	`time` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`app` text NOT NULL,
	`title` text,
	`url` text,
	`domain` text,
	`idle` integer NOT NULL,
	`keyboard` integer,
	`mouse` integer,
	`received_at` integer NOT NULL,
	FOREIGN KEY (`member_id`) REFERENCES `memberships`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `heartbeats_member_client_uq` ON `heartbeats` (`member_id`,`client_id`);--> statement-breakpoint
CREATE INDEX `heartbeats_member_time_idx` ON `heartbeats` (`member_id`,`time`,`client_id`);--> statement-breakpoint
CREATE TABLE `member_presence` (
	`member_id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`last_activity_at` integer NOT NULL,
	`last_input_at` integer,
	`latest_time` integer NOT NULL,
	`latest_idle` integer NOT NULL,
	`version` integer DEFAULT 0 NOT NULL,
	`online` integer DEFAULT false NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`member_id`) REFERENCES `memberships`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `member_presence_online_idx` ON `member_presence` (`updated_at`) WHERE "member_presence"."online" = 1;