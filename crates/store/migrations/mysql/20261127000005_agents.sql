-- Agents (one row per agent type and host) and the change log that agents
-- stream: every committed change of a resource, in commit order.
CREATE TABLE agents (
    id         VARCHAR(255) PRIMARY KEY NOT NULL,
    agent_type VARCHAR(255) NOT NULL,
    host       VARCHAR(255) NOT NULL,
    agent_binary VARCHAR(255) NOT NULL,
    doc        LONGTEXT NOT NULL,
    CONSTRAINT uniq_agents_type_host UNIQUE (agent_type, host)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE change_log (
    seq          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    resource     VARCHAR(255) NOT NULL,
    resource_id  VARCHAR(255) NOT NULL,
    revision     BIGINT NOT NULL,
    op           VARCHAR(16) NOT NULL,
    network_id   VARCHAR(255),
    host         VARCHAR(255),
    committed_at VARCHAR(255) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_change_log_network ON change_log (network_id);

-- One row whose lock orders change-log appends: a transaction that logs a
-- change updates it first and holds it until it ends, so seq order is
-- commit order (an agent reading after a position never misses a change
-- committed later with a smaller seq).
CREATE TABLE change_log_order (
    id BIGINT PRIMARY KEY NOT NULL,
    n  BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO change_log_order (id, n) VALUES (1, 0);
