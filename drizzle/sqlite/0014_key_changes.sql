-- Written by hand (drizzle-kit generate --custom): a counter of changes to api_keys, kept by triggers, so a
-- server can keep verified keys between requests and still see a key created or revoked by the CLI, another
-- process, at once: it reads this one row once per turn of its loop (see KeyStore). Not in schema.ts: no
-- query of the application's builds on it, and PostgreSQL has no copy (a node learns of key changes by
-- notification, and reloads them into its SQLite replica, where these triggers count them).
CREATE TABLE `key_changes` (
	`id` integer PRIMARY KEY NOT NULL CHECK (`id` = 1),
	`version` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `key_changes` (`id`, `version`) VALUES (1, 0);
--> statement-breakpoint
CREATE TRIGGER `key_changes_insert` AFTER INSERT ON `api_keys` BEGIN UPDATE `key_changes` SET `version` = `version` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `key_changes_update` AFTER UPDATE ON `api_keys` BEGIN UPDATE `key_changes` SET `version` = `version` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `key_changes_delete` AFTER DELETE ON `api_keys` BEGIN UPDATE `key_changes` SET `version` = `version` + 1 WHERE `id` = 1; END;
