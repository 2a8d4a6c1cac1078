CREATE TABLE `workflow_state_counts` (
	`tenant` text NOT NULL,
	`state` text NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`tenant`, `state`)
);
--> statement-breakpoint
ALTER TABLE `workflows` ADD `pending_reason` text;--> statement-breakpoint
ALTER TABLE `workflows` ADD `attempt` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `workflows` ADD `state_at` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `workflows_tenant_state_at_idx` ON `workflows` (`tenant`,`state_at`,`workflow_id`);--> statement-breakpoint
CREATE INDEX `workflows_tenant_state_state_at_idx` ON `workflows` (`tenant`,`state`,`state_at`,`workflow_id`);--> statement-breakpoint
CREATE INDEX `agents_tenant_name_idx` ON `agents` (`tenant`,`name`,`agent_id`);--> statement-breakpoint
CREATE INDEX `agents_tenant_status_name_idx` ON `agents` (`tenant`,`status`,`name`,`agent_id`);--> statement-breakpoint
CREATE INDEX `channels_tenant_created_idx` ON `channels` (`tenant`,`created_at`,`channel_id`);--> statement-breakpoint
CREATE INDEX `channels_tenant_state_created_idx` ON `channels` (`tenant`,`state`,`created_at`,`channel_id`);