ALTER TABLE `api_keys` ADD `workers` text;--> statement-breakpoint
ALTER TABLE `events` ADD `key_fingerprint` text;