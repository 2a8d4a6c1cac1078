CREATE TABLE `mercure_topics` (
	`tenant` text NOT NULL,
	`topic_hash` text NOT NULL,
	`topic` text NOT NULL,
	`updates` integer NOT NULL,
	`last_event_id` integer NOT NULL,
	`last_update_id` text NOT NULL,
	`last_type` text,
	`last_private` integer NOT NULL,
	`last_published_at` integer NOT NULL,
	PRIMARY KEY(`tenant`, `topic_hash`)
);
--> statement-breakpoint
CREATE INDEX `mercure_topics_tenant_published_idx` ON `mercure_topics` (`tenant`,`last_published_at`,`last_event_id`);