-- Core resources: networks, subnets, ports.
--
-- Each resource row holds its API document (`doc`, the JSON the API returns)
-- plus the columns the store filters, joins and constrains on. The side
-- tables carry the invariants: one IP per subnet, one MAC per network, one
-- segment per (type, physical network, id).

CREATE TABLE networks (
    id              TEXT PRIMARY KEY NOT NULL,
    project_id      TEXT NOT NULL,
    name            TEXT NOT NULL,
    shared          BIGINT NOT NULL,
    router_external BIGINT NOT NULL,
    doc             TEXT NOT NULL
);
CREATE INDEX ix_networks_project_id ON networks (project_id);

CREATE TABLE subnets (
    id          TEXT PRIMARY KEY NOT NULL,
    project_id  TEXT NOT NULL,
    network_id  TEXT NOT NULL
        CONSTRAINT fk_subnets_network REFERENCES networks (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    ip_version  BIGINT NOT NULL,
    cidr        TEXT NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX ix_subnets_network_id ON subnets (network_id);
CREATE INDEX ix_subnets_project_id ON subnets (project_id);

CREATE TABLE ports (
    id           TEXT PRIMARY KEY NOT NULL,
    project_id   TEXT NOT NULL,
    network_id   TEXT NOT NULL
        CONSTRAINT fk_ports_network REFERENCES networks (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    mac_address  TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    device_owner TEXT NOT NULL,
    doc          TEXT NOT NULL,
    CONSTRAINT uniq_ports_network_id_mac_address UNIQUE (network_id, mac_address)
);
CREATE INDEX ix_ports_project_id ON ports (project_id);
CREATE INDEX ix_ports_device_id ON ports (device_id);
CREATE INDEX ix_ports_device_owner ON ports (device_owner);

CREATE TABLE ipallocations (
    subnet_id  TEXT NOT NULL
        CONSTRAINT fk_ipallocations_subnet REFERENCES subnets (id),
    ip_address TEXT NOT NULL,
    -- Deferred: a port's addresses are recorded before its row, so that the
    -- row is written once, complete.
    port_id    TEXT NOT NULL
        CONSTRAINT fk_ipallocations_port REFERENCES ports (id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED,
    network_id TEXT NOT NULL,
    CONSTRAINT pk_ipallocations PRIMARY KEY (subnet_id, ip_address)
);
CREATE INDEX ix_ipallocations_port_id ON ipallocations (port_id);

CREATE TABLE network_segments (
    id               TEXT PRIMARY KEY NOT NULL,
    network_id       TEXT NOT NULL
        CONSTRAINT fk_network_segments_network REFERENCES networks (id) ON DELETE CASCADE,
    network_type     TEXT NOT NULL,
    physical_network TEXT,
    segmentation_id  BIGINT,
    segment_index    BIGINT NOT NULL
);
CREATE INDEX ix_network_segments_network_id ON network_segments (network_id);

-- physical_network is '' (never NULL) here so that the primary key holds.
CREATE TABLE segment_allocations (
    network_type     TEXT NOT NULL,
    physical_network TEXT NOT NULL,
    segmentation_id  BIGINT NOT NULL,
    network_id       TEXT NOT NULL
        CONSTRAINT fk_segment_allocations_network REFERENCES networks (id) ON DELETE CASCADE,
    CONSTRAINT pk_segment_allocations PRIMARY KEY (network_type, physical_network, segmentation_id)
);
CREATE INDEX ix_segment_allocations_network_id ON segment_allocations (network_id);

CREATE TABLE tags (
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    tag           TEXT NOT NULL,
    CONSTRAINT pk_tags PRIMARY KEY (resource_type, resource_id, tag)
);
CREATE INDEX ix_tags_tag ON tags (tag);
