-- The built-in identity (Keystone v3 subset): domains, projects, users,
-- roles and their assignments, the service catalog, token signing keys and
-- revoked tokens.
CREATE TABLE identity_domains (
    id      TEXT PRIMARY KEY NOT NULL,
    name    TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    doc     TEXT NOT NULL,
    CONSTRAINT uniq_identity_domains_name UNIQUE (name)
);

CREATE TABLE identity_projects (
    id        TEXT PRIMARY KEY NOT NULL,
    domain_id TEXT NOT NULL CONSTRAINT fk_identity_projects_domain REFERENCES identity_domains (id),
    name      TEXT NOT NULL,
    enabled   BIGINT NOT NULL,
    doc       TEXT NOT NULL,
    CONSTRAINT uniq_identity_projects_domain_name UNIQUE (domain_id, name)
);

CREATE TABLE identity_users (
    id        TEXT PRIMARY KEY NOT NULL,
    domain_id TEXT NOT NULL CONSTRAINT fk_identity_users_domain REFERENCES identity_domains (id),
    name      TEXT NOT NULL,
    enabled   BIGINT NOT NULL,
    doc       TEXT NOT NULL,
    CONSTRAINT uniq_identity_users_domain_name UNIQUE (domain_id, name)
);

-- Password hashes (PHC strings) apart from the user document the API shows.
CREATE TABLE identity_passwords (
    user_id TEXT PRIMARY KEY NOT NULL
        CONSTRAINT fk_identity_passwords_user REFERENCES identity_users (id) ON DELETE CASCADE,
    hash    TEXT NOT NULL
);

CREATE TABLE identity_roles (
    id   TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    doc  TEXT NOT NULL,
    CONSTRAINT uniq_identity_roles_name UNIQUE (name)
);

-- A role of a user on a project; id = "<project>:<user>:<role>".
CREATE TABLE identity_role_assignments (
    id         TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL
        CONSTRAINT fk_identity_assignments_project REFERENCES identity_projects (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL
        CONSTRAINT fk_identity_assignments_user REFERENCES identity_users (id) ON DELETE CASCADE,
    role_id    TEXT NOT NULL
        CONSTRAINT fk_identity_assignments_role REFERENCES identity_roles (id) ON DELETE CASCADE,
    doc        TEXT NOT NULL
);
CREATE INDEX ix_identity_role_assignments_user ON identity_role_assignments (user_id);

CREATE TABLE identity_regions (
    id               TEXT PRIMARY KEY NOT NULL,
    parent_region_id TEXT CONSTRAINT fk_identity_regions_parent REFERENCES identity_regions (id),
    doc              TEXT NOT NULL
);

CREATE TABLE identity_services (
    id      TEXT PRIMARY KEY NOT NULL,
    type    TEXT NOT NULL,
    name    TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    doc     TEXT NOT NULL
);

CREATE TABLE identity_endpoints (
    id         TEXT PRIMARY KEY NOT NULL,
    service_id TEXT NOT NULL
        CONSTRAINT fk_identity_endpoints_service REFERENCES identity_services (id) ON DELETE CASCADE,
    region_id  TEXT CONSTRAINT fk_identity_endpoints_region REFERENCES identity_regions (id),
    interface  TEXT NOT NULL,
    enabled    BIGINT NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX ix_identity_endpoints_service ON identity_endpoints (service_id);

-- Token signing keys (HMAC secrets, base64); every server reads them here.
CREATE TABLE identity_signing_keys (
    id         TEXT PRIMARY KEY NOT NULL,
    secret     TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Revoked tokens, kept until they would have expired anyway: one token
-- (and those re-scoped from it) by audit id, or every token of a user
-- issued before a time (key "user:<id>", issued_before in milliseconds).
CREATE TABLE identity_revocations (
    audit_id      TEXT PRIMARY KEY NOT NULL,
    expires_at    BIGINT NOT NULL,
    issued_before BIGINT
);
