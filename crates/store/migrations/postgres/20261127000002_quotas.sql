-- Per-project quota limits that differ from the configured defaults.
CREATE TABLE quotas (
    project_id TEXT NOT NULL,
    resource   TEXT NOT NULL,
    hard_limit BIGINT NOT NULL,
    CONSTRAINT pk_quotas PRIMARY KEY (project_id, resource)
);
