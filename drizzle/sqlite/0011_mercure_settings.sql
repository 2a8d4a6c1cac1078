CREATE TABLE `mercure_settings` (
	`tenant` text PRIMARY KEY NOT NULL,
	`publisher_alg` text,
	`publisher_key` text,
	`subscriber_alg` text,
	`subscriber_key` text,
	`anonymous` integer DEFAULT false NOT NULL,
	`subscriptions` integer DEFAULT false NOT NULL,
	`cors_origins` text DEFAULT '[]' NOT NULL,
	`issuer` text,
	`audience` text,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant`) REFERENCES `tenants`(`slug`) ON UPDATE no action ON DELETE no action
);
