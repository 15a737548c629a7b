-- Which DHCP agents host which networks.
CREATE TABLE network_dhcp_agents (
    network_id VARCHAR(255) NOT NULL,
    agent_id   VARCHAR(255) NOT NULL,
    PRIMARY KEY (network_id, agent_id),
    CONSTRAINT fk_network_dhcp_agents_network FOREIGN KEY (network_id) REFERENCES networks (id) ON DELETE CASCADE,
    CONSTRAINT fk_network_dhcp_agents_agent FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_network_dhcp_agents_agent ON network_dhcp_agents (agent_id);
