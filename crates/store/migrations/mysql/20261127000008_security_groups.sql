-- Security groups, their rules, and which ports use which groups.

CREATE TABLE security_groups (
    id         VARCHAR(255) PRIMARY KEY NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    name       VARCHAR(255) NOT NULL,
    doc        LONGTEXT NOT NULL,
    -- One default group per project (MySQL has no partial index: a column
    -- that is the project for the default group and NULL for the others).
    default_of VARCHAR(255) AS (CASE WHEN name = 'default' THEN project_id END) PERSISTENT,
    CONSTRAINT uniq_security_groups_default UNIQUE (default_of)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_security_groups_project_id ON security_groups (project_id);

CREATE TABLE security_group_rules (
    id                VARCHAR(255) PRIMARY KEY NOT NULL,
    project_id        VARCHAR(255) NOT NULL,
    security_group_id VARCHAR(255) NOT NULL,
    remote_group_id   VARCHAR(255),
    direction         VARCHAR(16) NOT NULL,
    ethertype         VARCHAR(16) NOT NULL,
    -- What makes two rules the same (direction, ethertype, protocol, ports, remote).
    fingerprint       VARCHAR(255) NOT NULL,
    doc               LONGTEXT NOT NULL,
    CONSTRAINT uniq_security_group_rules UNIQUE (security_group_id, fingerprint),
    CONSTRAINT fk_security_group_rules_group FOREIGN KEY (security_group_id) REFERENCES security_groups (id) ON DELETE CASCADE,
    CONSTRAINT fk_security_group_rules_remote FOREIGN KEY (remote_group_id) REFERENCES security_groups (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_security_group_rules_group ON security_group_rules (security_group_id);
CREATE INDEX ix_security_group_rules_remote ON security_group_rules (remote_group_id);

CREATE TABLE port_security_group_bindings (
    port_id           VARCHAR(255) NOT NULL,
    -- No cascade: a group in use cannot go.
    security_group_id VARCHAR(255) NOT NULL,
    PRIMARY KEY (port_id, security_group_id),
    CONSTRAINT fk_psgb_port FOREIGN KEY (port_id) REFERENCES ports (id) ON DELETE CASCADE,
    CONSTRAINT fk_psgb_group FOREIGN KEY (security_group_id) REFERENCES security_groups (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_psgb_group ON port_security_group_bindings (security_group_id);
