CREATE TABLE `event_type_counts` (
	`tenant` text NOT NULL,
	`type` text NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`tenant`, `type`)
);
--> statement-breakpoint
CREATE INDEX `events_tenant_type_id_idx` ON `events` (`tenant`,`type`,`id`);--> statement-breakpoint
CREATE INDEX `events_tenant_subject_id_idx` ON `events` (`tenant`,`subject`,`id`) WHERE "events"."subject" IS NOT NULL;--> statement-breakpoint
-- Hand-written: fill the summary for a database that already holds events (read through the new type index).
INSERT INTO `event_type_counts` (`tenant`, `type`, `count`) SELECT `tenant`, `type`, count(*) FROM `events` GROUP BY `tenant`, `type`;
