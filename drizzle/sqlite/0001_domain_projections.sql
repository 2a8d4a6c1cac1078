CREATE TABLE `agents` (
	`tenant` text NOT NULL,
	`agent_id` text NOT NULL,
	`name` text NOT NULL,
	`capabilities` text DEFAULT '[]' NOT NULL,
	`metrics` text DEFAULT '{}' NOT NULL,
	`status` text NOT NULL,
	`execution_id` text,
	`connected` integer DEFAULT false NOT NULL,
	`error` text,
	`updated_at` integer NOT NULL,
	`event_id` integer NOT NULL,
	PRIMARY KEY(`tenant`, `agent_id`)
);
--> statement-breakpoint
CREATE TABLE `calls` (
	`tenant` text NOT NULL,
	`call_id` text NOT NULL,
	`direction` text NOT NULL,
	`number` text NOT NULL,
	`agent` text,
	`client` text,
	`status` text NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`duration_ms` integer,
	`end_status` text,
	`summary` text,
	`sentiment` text,
	`event_id` integer NOT NULL,
	PRIMARY KEY(`tenant`, `call_id`)
);
--> statement-breakpoint
CREATE INDEX `calls_tenant_status_ended_idx` ON `calls` (`tenant`,`status`,`ended_at`);--> statement-breakpoint
CREATE TABLE `channels` (
	`tenant` text NOT NULL,
	`channel_id` text NOT NULL,
	`platform` text NOT NULL,
	`name` text NOT NULL,
	`settings` text DEFAULT '{}' NOT NULL,
	`state` text NOT NULL,
	`step` integer,
	`total` integer,
	`step_label` text,
	`reason` text,
	`worker` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`event_id` integer NOT NULL,
	PRIMARY KEY(`tenant`, `channel_id`)
);
--> statement-breakpoint
CREATE TABLE `chat_deltas` (
	`tenant` text NOT NULL,
	`session_id` text NOT NULL,
	`message_id` text NOT NULL,
	`seq` integer NOT NULL,
	`text` text NOT NULL,
	PRIMARY KEY(`tenant`, `session_id`, `message_id`, `seq`)
);
--> statement-breakpoint
CREATE TABLE `chat_messages` (
	`tenant` text NOT NULL,
	`session_id` text NOT NULL,
	`message_id` text NOT NULL,
	`role` text NOT NULL,
	`text` text,
	`status` text NOT NULL,
	`reply_to` text,
	`error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`event_id` integer NOT NULL,
	PRIMARY KEY(`tenant`, `session_id`, `message_id`)
);
--> statement-breakpoint
CREATE TABLE `chat_sessions` (
	`tenant` text NOT NULL,
	`session_id` text NOT NULL,
	`agent` text NOT NULL,
	`title` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`event_id` integer NOT NULL,
	PRIMARY KEY(`tenant`, `session_id`)
);
--> statement-breakpoint
CREATE TABLE `tool_runs` (
	`tenant` text NOT NULL,
	`tool_id` text NOT NULL,
	`session_id` text NOT NULL,
	`message_id` text NOT NULL,
	`name` text NOT NULL,
	`status` text NOT NULL,
	`progress` real DEFAULT 0 NOT NULL,
	`output` text DEFAULT '' NOT NULL,
	`error` text,
	`cancel_requested` integer DEFAULT false NOT NULL,
	`started_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`event_id` integer NOT NULL,
	PRIMARY KEY(`tenant`, `tool_id`)
);
--> statement-breakpoint
CREATE TABLE `workflows` (
	`tenant` text NOT NULL,
	`workflow_id` text NOT NULL,
	`name` text NOT NULL,
	`stages` text DEFAULT '[]' NOT NULL,
	`stage` text,
	`task` text,
	`progress` real DEFAULT 0 NOT NULL,
	`state` text NOT NULL,
	`worker` text,
	`error` text,
	`retryable` integer,
	`pending_action` text,
	`pending_event_id` integer,
	`pending_at` integer,
	`pending_deliverable` integer,
	`expired_action` text,
	`started_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`event_id` integer NOT NULL,
	PRIMARY KEY(`tenant`, `workflow_id`)
);
--> statement-breakpoint
ALTER TABLE `tenants` ADD `retell_secret` text;