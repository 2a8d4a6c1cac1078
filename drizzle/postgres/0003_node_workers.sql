CREATE TABLE "node_workers" (
	"node" text NOT NULL,
	"tenant" text NOT NULL,
	"worker" text NOT NULL,
	"at" bigint NOT NULL,
	CONSTRAINT "node_workers_node_tenant_worker_pk" PRIMARY KEY("node","tenant","worker")
);
