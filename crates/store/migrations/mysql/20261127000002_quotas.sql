-- Per-project quota limits that differ from the configured defaults.
CREATE TABLE quotas (
    project_id VARCHAR(255) NOT NULL,
    resource   VARCHAR(255) NOT NULL,
    hard_limit BIGINT NOT NULL,
    CONSTRAINT pk_quotas PRIMARY KEY (project_id, resource)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
