-- RBAC policies: a network shared with (or made external for) one project or all.
CREATE TABLE rbac_policies (
    id            VARCHAR(255) PRIMARY KEY NOT NULL,
    project_id    VARCHAR(255) NOT NULL,
    object_type   VARCHAR(64) NOT NULL,
    object_id     VARCHAR(255) NOT NULL,
    target_tenant VARCHAR(255) NOT NULL,
    action        VARCHAR(64) NOT NULL,
    doc           LONGTEXT NOT NULL,
    CONSTRAINT uniq_rbac_policies_object_action_target UNIQUE (object_type, object_id, action, target_tenant),
    CONSTRAINT fk_rbac_policies_network FOREIGN KEY (object_id) REFERENCES networks (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_rbac_policies_project_id ON rbac_policies (project_id);
CREATE INDEX ix_rbac_policies_target_tenant ON rbac_policies (target_tenant);
