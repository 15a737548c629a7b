-- Core resources: networks, subnets, ports.
--
-- Each resource row holds its API document (`doc`, the JSON the API returns)
-- plus the columns the store filters, joins and constrains on. The side
-- tables carry the invariants: one IP per subnet, one MAC per network, one
-- segment per (type, physical network, id).

CREATE TABLE networks (
    id              VARCHAR(255) PRIMARY KEY NOT NULL,
    project_id      VARCHAR(255) NOT NULL,
    name            VARCHAR(255) NOT NULL,
    shared          BIGINT NOT NULL,
    router_external BIGINT NOT NULL,
    doc             LONGTEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_networks_project_id ON networks (project_id);

CREATE TABLE subnets (
    id          VARCHAR(255) PRIMARY KEY NOT NULL,
    project_id  VARCHAR(255) NOT NULL,
    network_id  VARCHAR(255) NOT NULL,
    name        VARCHAR(255) NOT NULL,
    ip_version  BIGINT NOT NULL,
    cidr        VARCHAR(255) NOT NULL,
    doc         LONGTEXT NOT NULL,
    CONSTRAINT fk_subnets_network FOREIGN KEY (network_id) REFERENCES networks (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_subnets_network_id ON subnets (network_id);
CREATE INDEX ix_subnets_project_id ON subnets (project_id);

CREATE TABLE ports (
    id           VARCHAR(255) PRIMARY KEY NOT NULL,
    project_id   VARCHAR(255) NOT NULL,
    network_id   VARCHAR(255) NOT NULL,
    name         VARCHAR(255) NOT NULL,
    mac_address  VARCHAR(255) NOT NULL,
    device_id    VARCHAR(255) NOT NULL,
    device_owner VARCHAR(255) NOT NULL,
    doc          LONGTEXT NOT NULL,
    CONSTRAINT uniq_ports_network_id_mac_address UNIQUE (network_id, mac_address),
    CONSTRAINT fk_ports_network FOREIGN KEY (network_id) REFERENCES networks (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_ports_project_id ON ports (project_id);
CREATE INDEX ix_ports_device_id ON ports (device_id);
CREATE INDEX ix_ports_device_owner ON ports (device_owner);

CREATE TABLE ipallocations (
    subnet_id  VARCHAR(255) NOT NULL,
    ip_address VARCHAR(255) NOT NULL,
    -- No key to ports here: a port's addresses are recorded before its row
    -- (so that the row is written once, complete), and MySQL cannot defer a
    -- foreign key to the commit. The store deletes a port's addresses with it.
    port_id    VARCHAR(255) NOT NULL,
    network_id VARCHAR(255) NOT NULL,
    CONSTRAINT pk_ipallocations PRIMARY KEY (subnet_id, ip_address),
    CONSTRAINT fk_ipallocations_subnet FOREIGN KEY (subnet_id) REFERENCES subnets (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_ipallocations_port_id ON ipallocations (port_id);

CREATE TABLE network_segments (
    id               VARCHAR(255) PRIMARY KEY NOT NULL,
    network_id       VARCHAR(255) NOT NULL,
    network_type     VARCHAR(255) NOT NULL,
    physical_network VARCHAR(255),
    segmentation_id  BIGINT,
    segment_index    BIGINT NOT NULL,
    CONSTRAINT fk_network_segments_network FOREIGN KEY (network_id) REFERENCES networks (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_network_segments_network_id ON network_segments (network_id);

-- physical_network is '' (never NULL) here so that the primary key holds.
CREATE TABLE segment_allocations (
    network_type     VARCHAR(255) NOT NULL,
    physical_network VARCHAR(255) NOT NULL,
    segmentation_id  BIGINT NOT NULL,
    network_id       VARCHAR(255) NOT NULL,
    CONSTRAINT pk_segment_allocations PRIMARY KEY (network_type, physical_network, segmentation_id),
    CONSTRAINT fk_segment_allocations_network FOREIGN KEY (network_id) REFERENCES networks (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_segment_allocations_network_id ON segment_allocations (network_id);

CREATE TABLE tags (
    resource_type VARCHAR(255) NOT NULL,
    resource_id   VARCHAR(255) NOT NULL,
    tag           VARCHAR(255) NOT NULL,
    CONSTRAINT pk_tags PRIMARY KEY (resource_type, resource_id, tag)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_tags_tag ON tags (tag);
