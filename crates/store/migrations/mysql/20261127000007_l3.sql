-- Routers, floating IPs, port forwardings and the L3 agents hosting routers.
--
-- A router's ports are ordinary ports (device_id = the router, device_owner
-- network:router_interface / network:router_gateway); a floating IP's
-- address is held by its own port (device_owner network:floatingip) on the
-- external network, so the IP allocation keys keep addresses unique.

CREATE TABLE routers (
    id         VARCHAR(255) PRIMARY KEY NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    name       VARCHAR(255) NOT NULL,
    -- The external network of the gateway, '' without one.
    gw_network_id VARCHAR(255) NOT NULL,
    doc        LONGTEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_routers_project_id ON routers (project_id);

CREATE TABLE floatingips (
    id                  VARCHAR(255) PRIMARY KEY NOT NULL,
    project_id          VARCHAR(255) NOT NULL,
    floating_network_id VARCHAR(255) NOT NULL,
    floating_ip_address VARCHAR(255) NOT NULL,
    -- NULL while unassociated (NULLs never collide in the unique key).
    port_id             VARCHAR(255),
    fixed_ip_address    VARCHAR(255),
    router_id           VARCHAR(255),
    doc                 LONGTEXT NOT NULL,
    -- One floating IP per fixed IP and external network.
    CONSTRAINT uniq_floatingips_fixed UNIQUE (floating_network_id, port_id, fixed_ip_address),
    CONSTRAINT fk_floatingips_network FOREIGN KEY (floating_network_id) REFERENCES networks (id),
    CONSTRAINT fk_floatingips_port FOREIGN KEY (port_id) REFERENCES ports (id),
    CONSTRAINT fk_floatingips_router FOREIGN KEY (router_id) REFERENCES routers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_floatingips_project_id ON floatingips (project_id);
CREATE INDEX ix_floatingips_port_id ON floatingips (port_id);
CREATE INDEX ix_floatingips_router_id ON floatingips (router_id);

CREATE TABLE port_forwardings (
    id                  VARCHAR(255) PRIMARY KEY NOT NULL,
    floatingip_id       VARCHAR(255) NOT NULL,
    protocol            VARCHAR(16) NOT NULL,
    external_port       BIGINT NOT NULL,
    internal_port_id    VARCHAR(255) NOT NULL,
    internal_ip_address VARCHAR(255) NOT NULL,
    internal_port       BIGINT NOT NULL,
    doc                 LONGTEXT NOT NULL,
    CONSTRAINT uniq_port_forwardings_external UNIQUE (floatingip_id, protocol, external_port),
    CONSTRAINT uniq_port_forwardings_internal UNIQUE (internal_ip_address, protocol, internal_port),
    CONSTRAINT fk_port_forwardings_floatingip FOREIGN KEY (floatingip_id) REFERENCES floatingips (id) ON DELETE CASCADE,
    CONSTRAINT fk_port_forwardings_port FOREIGN KEY (internal_port_id) REFERENCES ports (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_port_forwardings_internal_port_id ON port_forwardings (internal_port_id);

-- Which L3 agents host which routers.
CREATE TABLE router_l3_agents (
    router_id VARCHAR(255) NOT NULL,
    agent_id  VARCHAR(255) NOT NULL,
    PRIMARY KEY (router_id, agent_id),
    CONSTRAINT fk_router_l3_agents_router FOREIGN KEY (router_id) REFERENCES routers (id) ON DELETE CASCADE,
    CONSTRAINT fk_router_l3_agents_agent FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_router_l3_agents_agent ON router_l3_agents (agent_id);
