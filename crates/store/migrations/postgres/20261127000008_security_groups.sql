-- Security groups, their rules, and which ports use which groups.

CREATE TABLE security_groups (
    id         TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX ix_security_groups_project_id ON security_groups (project_id);
-- One default group per project.
CREATE UNIQUE INDEX uniq_security_groups_default ON security_groups (project_id) WHERE name = 'default';

CREATE TABLE security_group_rules (
    id                TEXT PRIMARY KEY NOT NULL,
    project_id        TEXT NOT NULL,
    security_group_id TEXT NOT NULL
        CONSTRAINT fk_security_group_rules_group REFERENCES security_groups (id) ON DELETE CASCADE,
    remote_group_id   TEXT
        CONSTRAINT fk_security_group_rules_remote REFERENCES security_groups (id) ON DELETE CASCADE,
    direction         TEXT NOT NULL,
    ethertype         TEXT NOT NULL,
    -- What makes two rules the same (direction, ethertype, protocol, ports, remote).
    fingerprint       TEXT NOT NULL,
    doc               TEXT NOT NULL,
    CONSTRAINT uniq_security_group_rules UNIQUE (security_group_id, fingerprint)
);
CREATE INDEX ix_security_group_rules_group ON security_group_rules (security_group_id);
CREATE INDEX ix_security_group_rules_remote ON security_group_rules (remote_group_id);

CREATE TABLE port_security_group_bindings (
    port_id           TEXT NOT NULL
        CONSTRAINT fk_psgb_port REFERENCES ports (id) ON DELETE CASCADE,
    -- No cascade: a group in use cannot go.
    security_group_id TEXT NOT NULL
        CONSTRAINT fk_psgb_group REFERENCES security_groups (id),
    PRIMARY KEY (port_id, security_group_id)
);
CREATE INDEX ix_psgb_group ON port_security_group_bindings (security_group_id);
