CREATE TABLE `node_streams` (
	`node` text NOT NULL,
	`tenant` text NOT NULL,
	`streams` integer NOT NULL,
	`at` integer NOT NULL,
	PRIMARY KEY(`node`, `tenant`)
);
