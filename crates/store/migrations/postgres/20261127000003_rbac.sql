-- RBAC policies: a network shared with (or made external for) one project or all.
CREATE TABLE rbac_policies (
    id            TEXT PRIMARY KEY NOT NULL,
    project_id    TEXT NOT NULL,
    object_type   TEXT NOT NULL,
    object_id     TEXT NOT NULL
        CONSTRAINT fk_rbac_policies_network REFERENCES networks (id) ON DELETE CASCADE,
    target_tenant TEXT NOT NULL,
    action        TEXT NOT NULL,
    doc           TEXT NOT NULL,
    CONSTRAINT uniq_rbac_policies_object_action_target UNIQUE (object_type, object_id, action, target_tenant)
);
CREATE INDEX ix_rbac_policies_project_id ON rbac_policies (project_id);
CREATE INDEX ix_rbac_policies_target_tenant ON rbac_policies (target_tenant);
