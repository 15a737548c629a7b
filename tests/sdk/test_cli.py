"""The real `openstack` CLI (python-openstackclient 10.5.0) against Neutrino.

Talking to a noauth endpoint without Keystone -- verified with osc 10.5.0:

    openstack --os-auth-type none --os-endpoint http://127.0.0.1:PORT network list

(equivalently OS_AUTH_TYPE=none OS_ENDPOINT=http://127.0.0.1:PORT). The
endpoint is the server root, not .../v2.0: keystoneauth discovers v2.0 from
GET /. `--os-network-endpoint-override` is not an osc 10.5.0 option.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CHANNEL_SECRET, uniq

OPENSTACK = Path(sys.executable).parent / "openstack"


def _run(neutrino, tmp_path, *args):
    # A clean environment: no OS_* variables, no clouds.yaml from $HOME.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["HOME"] = str(tmp_path)
    env["OS_CLIENT_CONFIG_FILE"] = str(tmp_path / "no-clouds.yaml")
    cmd = [str(OPENSTACK), "--os-auth-type", "none", "--os-endpoint", neutrino.root,
           *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout}\n"
        f"stderr:\n{proc.stderr}")
    return proc.stdout


@pytest.mark.skipif(not OPENSTACK.exists(), reason="no openstack CLI in this venv")
def test_openstack_cli_network_subnet_port(neutrino, conn, mk, tmp_path):
    net_name, sub_name, port_name = uniq("cli-net"), uniq("cli-sub"), uniq("cli-port")

    net = json.loads(_run(neutrino, tmp_path, "network", "create", net_name,
                          "--description", "from the CLI", "-f", "json"))
    mk.add("network", net["id"])
    assert net["name"] == net_name
    assert net["description"] == "from the CLI"
    assert net["status"] == "ACTIVE"
    assert net["admin_state_up"] is True

    sub = json.loads(_run(neutrino, tmp_path, "subnet", "create", sub_name,
                          "--network", net_name, "--subnet-range", "10.60.0.0/24",
                          "--dns-nameserver", "192.0.2.53", "-f", "json"))
    mk.add("subnet", sub["id"])
    assert sub["cidr"] == "10.60.0.0/24"
    assert sub["network_id"] == net["id"]
    assert sub["gateway_ip"] == "10.60.0.1"
    assert sub["dns_nameservers"] == ["192.0.2.53"]

    port = json.loads(_run(neutrino, tmp_path, "port", "create", port_name,
                           "--network", net_name,
                           "--fixed-ip", f"subnet={sub_name},ip-address=10.60.0.10",
                           "-f", "json"))
    mk.add("port", port["id"])
    assert port["network_id"] == net["id"]
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.60.0.10"}]

    listed = json.loads(_run(neutrino, tmp_path, "network", "list", "-f", "json"))
    row = next(r for r in listed if r["ID"] == net["id"])
    assert row["Name"] == net_name
    assert row["Subnets"] == [sub["id"]]

    # and the SDK sees what the CLI made
    assert conn.network.get_port(port["id"]).fixed_ips[0]["ip_address"] == "10.60.0.10"


@pytest.mark.skipif(not OPENSTACK.exists(), reason="no openstack CLI in this venv")
def test_openstack_network_agent_list_shows_the_in_process_l2_agent(neutrino, tmp_path):
    """The all-in-one runs its L2 agent in-process; it reports like Neutron's."""
    agents = json.loads(_run(neutrino, tmp_path, "network", "agent", "list", "-f", "json"))
    lb = [a for a in agents if a["Agent Type"] == "Linux bridge agent"]
    assert len(lb) == 1, agents
    agent = lb[0]
    assert agent["Binary"] == "neutron-linuxbridge-agent"
    assert agent["Alive"] is True and agent["State"] is True
    table = _run(neutrino, tmp_path, "network", "agent", "list")
    assert ":-)" in table and "UP" in table

    _run(neutrino, tmp_path, "network", "agent", "set", "--disable", agent["ID"])
    try:
        shown = json.loads(_run(neutrino, tmp_path, "network", "agent", "show", agent["ID"], "-f", "json"))
        assert shown["admin_state_up"] is False
        assert shown["configuration"]["local_ip"] == "127.0.0.1"
        assert shown["configuration"]["tunnel_types"] == ["vxlan"]
        assert shown["topic"] == "N/A"
    finally:
        _run(neutrino, tmp_path, "network", "agent", "set", "--enable", agent["ID"])


def _register_dhcp_agent(neutrino, host):
    """Registers a DHCP agent the way `neutrino agent dhcp` does (its state
    report on the agent channel); no dnsmasq runs for it here."""
    import urllib.request
    body = json.dumps({"agent": {"agent_type": "DHCP agent", "binary": "neutron-dhcp-agent",
                                 "host": host, "topic": "dhcp_agent"}}).encode()
    req = urllib.request.Request(neutrino.root + "/agent/v1/report", data=body, method="POST",
                                 headers={"Content-Type": "application/json",
                                          "X-Neutrino-Agent-Secret": CHANNEL_SECRET})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())["agent"]["id"]


@pytest.mark.skipif(not OPENSTACK.exists(), reason="no openstack CLI in this venv")
def test_openstack_dhcp_agent_scheduling(neutrino, mk, tmp_path):
    agent_id = _register_dhcp_agent(neutrino, uniq("dhcp-host"))
    # The agent is alive on the suite's shared server: it must not outlive this test
    # (later DHCP-enabled subnets would get DHCP ports at random addresses).
    try:
        net_name = uniq("dhcp-net")
        net = json.loads(_run(neutrino, tmp_path, "network", "create", net_name, "-f", "json"))
        mk.add("network", net["id"])
        sub = json.loads(_run(neutrino, tmp_path, "subnet", "create", uniq("dhcp-sub"), "--network", net_name,
                              "--subnet-range", "10.61.0.0/24", "-f", "json"))
        mk.add("subnet", sub["id"])
        hosting = json.loads(_run(neutrino, tmp_path, "network", "agent", "list", "--network", net_name,
                                  "-f", "json"))
        assert [a["ID"] for a in hosting] == [agent_id]
        ports = json.loads(_run(neutrino, tmp_path, "port", "list", "--network", net_name,
                                "--device-owner", "network:dhcp", "-f", "json"))
        assert len(ports) == 1, ports

        _run(neutrino, tmp_path, "network", "agent", "remove", "network", "--dhcp", agent_id, net_name)
        assert json.loads(_run(neutrino, tmp_path, "network", "agent", "list", "--network", net_name,
                               "-f", "json")) == []
        _run(neutrino, tmp_path, "network", "agent", "add", "network", "--dhcp", agent_id, net_name)
        served = json.loads(_run(neutrino, tmp_path, "network", "list", "--agent", agent_id, "-f", "json"))
        assert net_name in [n["Name"] for n in served]
    finally:
        _run(neutrino, tmp_path, "network", "agent", "delete", agent_id)
