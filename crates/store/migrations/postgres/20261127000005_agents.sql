-- Agents (one row per agent type and host) and the change log that agents
-- stream: every committed change of a resource, in commit order.
CREATE TABLE agents (
    id         TEXT PRIMARY KEY NOT NULL,
    agent_type TEXT NOT NULL,
    host       TEXT NOT NULL,
    agent_binary TEXT NOT NULL,
    doc        TEXT NOT NULL,
    CONSTRAINT uniq_agents_type_host UNIQUE (agent_type, host)
);

CREATE TABLE change_log (
    seq          BIGSERIAL PRIMARY KEY,
    resource     TEXT NOT NULL,
    resource_id  TEXT NOT NULL,
    revision     BIGINT NOT NULL,
    op           TEXT NOT NULL,
    network_id   TEXT,
    host         TEXT,
    committed_at TEXT NOT NULL
);
CREATE INDEX ix_change_log_network ON change_log (network_id);
