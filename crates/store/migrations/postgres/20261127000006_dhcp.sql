-- Which DHCP agents host which networks.
CREATE TABLE network_dhcp_agents (
    network_id TEXT NOT NULL CONSTRAINT fk_network_dhcp_agents_network REFERENCES networks (id) ON DELETE CASCADE,
    agent_id   TEXT NOT NULL CONSTRAINT fk_network_dhcp_agents_agent REFERENCES agents (id) ON DELETE CASCADE,
    PRIMARY KEY (network_id, agent_id)
);
CREATE INDEX ix_network_dhcp_agents_agent ON network_dhcp_agents (agent_id);
