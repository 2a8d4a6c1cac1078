CREATE TABLE "node_streams" (
	"node" text NOT NULL,
	"tenant" text NOT NULL,
	"streams" bigint NOT NULL,
	"at" bigint NOT NULL,
	CONSTRAINT "node_streams_node_tenant_pk" PRIMARY KEY("node","tenant")
);
