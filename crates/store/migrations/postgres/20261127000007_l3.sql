-- Routers, floating IPs, port forwardings and the L3 agents hosting routers.
--
-- A router's ports are ordinary ports (device_id = the router, device_owner
-- network:router_interface / network:router_gateway); a floating IP's
-- address is held by its own port (device_owner network:floatingip) on the
-- external network, so the IP allocation keys keep addresses unique.

CREATE TABLE routers (
    id         TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    -- The external network of the gateway, '' without one.
    gw_network_id TEXT NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX ix_routers_project_id ON routers (project_id);

CREATE TABLE floatingips (
    id                  TEXT PRIMARY KEY NOT NULL,
    project_id          TEXT NOT NULL,
    floating_network_id TEXT NOT NULL
        CONSTRAINT fk_floatingips_network REFERENCES networks (id),
    floating_ip_address TEXT NOT NULL,
    -- NULL while unassociated (NULLs never collide in the unique key).
    port_id             TEXT
        CONSTRAINT fk_floatingips_port REFERENCES ports (id),
    fixed_ip_address    TEXT,
    router_id           TEXT
        CONSTRAINT fk_floatingips_router REFERENCES routers (id),
    doc                 TEXT NOT NULL,
    -- One floating IP per fixed IP and external network.
    CONSTRAINT uniq_floatingips_fixed UNIQUE (floating_network_id, port_id, fixed_ip_address)
);
CREATE INDEX ix_floatingips_project_id ON floatingips (project_id);
CREATE INDEX ix_floatingips_port_id ON floatingips (port_id);
CREATE INDEX ix_floatingips_router_id ON floatingips (router_id);

CREATE TABLE port_forwardings (
    id                  TEXT PRIMARY KEY NOT NULL,
    floatingip_id       TEXT NOT NULL
        CONSTRAINT fk_port_forwardings_floatingip REFERENCES floatingips (id) ON DELETE CASCADE,
    protocol            TEXT NOT NULL,
    external_port       BIGINT NOT NULL,
    internal_port_id    TEXT NOT NULL
        CONSTRAINT fk_port_forwardings_port REFERENCES ports (id),
    internal_ip_address TEXT NOT NULL,
    internal_port       BIGINT NOT NULL,
    doc                 TEXT NOT NULL,
    CONSTRAINT uniq_port_forwardings_external UNIQUE (floatingip_id, protocol, external_port),
    CONSTRAINT uniq_port_forwardings_internal UNIQUE (internal_ip_address, protocol, internal_port)
);
CREATE INDEX ix_port_forwardings_internal_port_id ON port_forwardings (internal_port_id);

-- Which L3 agents host which routers.
CREATE TABLE router_l3_agents (
    router_id TEXT NOT NULL CONSTRAINT fk_router_l3_agents_router REFERENCES routers (id) ON DELETE CASCADE,
    agent_id  TEXT NOT NULL CONSTRAINT fk_router_l3_agents_agent REFERENCES agents (id) ON DELETE CASCADE,
    PRIMARY KEY (router_id, agent_id)
);
CREATE INDEX ix_router_l3_agents_agent ON router_l3_agents (agent_id);
