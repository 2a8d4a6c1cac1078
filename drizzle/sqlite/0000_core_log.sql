CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`hash` text NOT NULL,
	`tenant` text,
	`scopes` text NOT NULL,
	`label` text DEFAULT '' NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`tenant`) REFERENCES `tenants`(`slug`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash_idx` ON `api_keys` (`hash`);--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant` text NOT NULL,
	`type` text NOT NULL,
	`subject` text,
	`data` text NOT NULL,
	`key` text,
	`ts` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_tenant_id_idx` ON `events` (`tenant`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `events_tenant_key_idx` ON `events` (`tenant`,`key`) WHERE "events"."key" IS NOT NULL;--> statement-breakpoint
CREATE TABLE `tenants` (
	`slug` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL,
	`pruned_through` integer DEFAULT 0 NOT NULL
);
