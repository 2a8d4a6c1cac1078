CREATE TABLE `node_workers` (
	`node` text NOT NULL,
	`tenant` text NOT NULL,
	`worker` text NOT NULL,
	`at` integer NOT NULL,
	PRIMARY KEY(`node`, `tenant`, `worker`)
);
