ALTER TABLE `chat_sessions` ADD `status` text DEFAULT 'idle' NOT NULL;--> statement-breakpoint
ALTER TABLE `chat_sessions` ADD `unanswered` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `chat_sessions_tenant_updated_idx` ON `chat_sessions` (`tenant`,`updated_at`);--> statement-breakpoint
CREATE INDEX `chat_sessions_tenant_status_updated_idx` ON `chat_sessions` (`tenant`,`status`,`updated_at`);--> statement-breakpoint
CREATE INDEX `chat_sessions_tenant_agent_updated_idx` ON `chat_sessions` (`tenant`,`agent`,`updated_at`);--> statement-breakpoint
CREATE INDEX `chat_sessions_tenant_unanswered_updated_idx` ON `chat_sessions` (`tenant`,`updated_at`) WHERE "chat_sessions"."unanswered" > 0;--> statement-breakpoint
CREATE INDEX `calls_tenant_started_idx` ON `calls` (`tenant`,`started_at`);--> statement-breakpoint
CREATE INDEX `calls_tenant_status_started_idx` ON `calls` (`tenant`,`status`,`started_at`);--> statement-breakpoint
CREATE INDEX `calls_tenant_direction_started_idx` ON `calls` (`tenant`,`direction`,`started_at`);--> statement-breakpoint
CREATE INDEX `calls_tenant_agent_started_idx` ON `calls` (`tenant`,`agent`,`started_at`);--> statement-breakpoint
CREATE INDEX `calls_tenant_number_started_idx` ON `calls` (`tenant`,`number`,`started_at`);