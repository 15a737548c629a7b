-- The built-in identity (Keystone v3 subset): domains, projects, users,
-- roles and their assignments, the service catalog, token signing keys and
-- revoked tokens.
CREATE TABLE identity_domains (
    id      VARCHAR(255) PRIMARY KEY NOT NULL,
    name    VARCHAR(255) NOT NULL,
    enabled BIGINT NOT NULL,
    doc     LONGTEXT NOT NULL,
    CONSTRAINT uniq_identity_domains_name UNIQUE (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE identity_projects (
    id        VARCHAR(255) PRIMARY KEY NOT NULL,
    domain_id VARCHAR(255) NOT NULL,
    name      VARCHAR(255) NOT NULL,
    enabled   BIGINT NOT NULL,
    doc       LONGTEXT NOT NULL,
    CONSTRAINT uniq_identity_projects_domain_name UNIQUE (domain_id, name),
    CONSTRAINT fk_identity_projects_domain FOREIGN KEY (domain_id) REFERENCES identity_domains (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE identity_users (
    id        VARCHAR(255) PRIMARY KEY NOT NULL,
    domain_id VARCHAR(255) NOT NULL,
    name      VARCHAR(255) NOT NULL,
    enabled   BIGINT NOT NULL,
    doc       LONGTEXT NOT NULL,
    CONSTRAINT uniq_identity_users_domain_name UNIQUE (domain_id, name),
    CONSTRAINT fk_identity_users_domain FOREIGN KEY (domain_id) REFERENCES identity_domains (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Password hashes (PHC strings) apart from the user document the API shows.
CREATE TABLE identity_passwords (
    user_id VARCHAR(255) PRIMARY KEY NOT NULL,
    hash    VARCHAR(255) NOT NULL,
    CONSTRAINT fk_identity_passwords_user FOREIGN KEY (user_id) REFERENCES identity_users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE identity_roles (
    id   VARCHAR(255) PRIMARY KEY NOT NULL,
    name VARCHAR(255) NOT NULL,
    doc  LONGTEXT NOT NULL,
    CONSTRAINT uniq_identity_roles_name UNIQUE (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A role of a user on a project; id = "<project>:<user>:<role>".
CREATE TABLE identity_role_assignments (
    id         VARCHAR(255) PRIMARY KEY NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    user_id    VARCHAR(255) NOT NULL,
    role_id    VARCHAR(255) NOT NULL,
    doc        LONGTEXT NOT NULL,
    CONSTRAINT fk_identity_assignments_project FOREIGN KEY (project_id) REFERENCES identity_projects (id) ON DELETE CASCADE,
    CONSTRAINT fk_identity_assignments_user FOREIGN KEY (user_id) REFERENCES identity_users (id) ON DELETE CASCADE,
    CONSTRAINT fk_identity_assignments_role FOREIGN KEY (role_id) REFERENCES identity_roles (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_identity_role_assignments_user ON identity_role_assignments (user_id);

CREATE TABLE identity_regions (
    id               VARCHAR(255) PRIMARY KEY NOT NULL,
    parent_region_id VARCHAR(255),
    doc              LONGTEXT NOT NULL,
    CONSTRAINT fk_identity_regions_parent FOREIGN KEY (parent_region_id) REFERENCES identity_regions (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE identity_services (
    id      VARCHAR(255) PRIMARY KEY NOT NULL,
    type    VARCHAR(255) NOT NULL,
    name    VARCHAR(255) NOT NULL,
    enabled BIGINT NOT NULL,
    doc     LONGTEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE identity_endpoints (
    id         VARCHAR(255) PRIMARY KEY NOT NULL,
    service_id VARCHAR(255) NOT NULL,
    region_id  VARCHAR(255),
    interface  VARCHAR(16) NOT NULL,
    enabled    BIGINT NOT NULL,
    doc        LONGTEXT NOT NULL,
    CONSTRAINT fk_identity_endpoints_service FOREIGN KEY (service_id) REFERENCES identity_services (id) ON DELETE CASCADE,
    CONSTRAINT fk_identity_endpoints_region FOREIGN KEY (region_id) REFERENCES identity_regions (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_identity_endpoints_service ON identity_endpoints (service_id);

-- Token signing keys (HMAC secrets, base64); every server reads them here.
CREATE TABLE identity_signing_keys (
    id         VARCHAR(255) PRIMARY KEY NOT NULL,
    secret     VARCHAR(255) NOT NULL,
    created_at VARCHAR(255) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Revoked tokens, kept until they would have expired anyway: one token
-- (and those re-scoped from it) by audit id, or every token of a user
-- issued before a time (key "user:<id>", issued_before in milliseconds).
CREATE TABLE identity_revocations (
    audit_id      VARCHAR(255) PRIMARY KEY NOT NULL,
    expires_at    BIGINT NOT NULL,
    issued_before BIGINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
