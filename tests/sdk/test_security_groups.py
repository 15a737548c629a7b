"""Security groups driven by the real `openstack` CLI and openstacksdk."""

import json

import openstack.exceptions
import pytest

from conftest import uniq
from test_cli import OPENSTACK, _run


@pytest.mark.skipif(not OPENSTACK.exists(), reason="no openstack CLI in this venv")
def test_openstack_cli_security_groups_rules_and_ports(neutrino, conn, mk, tmp_path):
    cli = lambda *a: _run(neutrino, tmp_path, *a)  # noqa: E731
    groups = json.loads(cli("security", "group", "list", "-f", "json"))
    assert "default" in [g["Name"] for g in groups]
    name = uniq("web")
    sg = json.loads(cli("security", "group", "create", name, "--description", "web tier", "-f", "json"))
    mk.add("security_group", sg["id"])
    assert sg["description"] == "web tier"
    rule = json.loads(cli("security", "group", "rule", "create", name, "--protocol", "tcp",
                          "--dst-port", "22", "--remote-ip", "192.0.2.0/24", "-f", "json"))
    assert (rule["port_range_min"], rule["port_range_max"], rule["protocol"]) == (22, 22, "tcp")
    icmp = json.loads(cli("security", "group", "rule", "create", name, "--protocol", "icmp",
                          "--icmp-type", "8", "--icmp-code", "0", "-f", "json"))
    assert (icmp["port_range_min"], icmp["port_range_max"]) == (8, 0)
    listed = json.loads(cli("security", "group", "rule", "list", name, "-f", "json"))
    assert {r["ID"] for r in listed} >= {rule["id"], icmp["id"]}
    with pytest.raises(AssertionError, match="already exists"):
        cli("security", "group", "rule", "create", name, "--protocol", "tcp",
            "--dst-port", "22", "--remote-ip", "192.0.2.0/24")

    net = mk.network(name=uniq("sgnet"))
    mk.subnet(network_id=net.id, cidr="10.63.0.0/24")
    port = json.loads(cli("port", "create", uniq("p"), "--network", net.id,
                          "--security-group", name, "-f", "json"))
    mk.add("port", port["id"])
    assert port["security_group_ids"] == [sg["id"]]
    with pytest.raises(AssertionError, match="in use"):
        cli("security", "group", "delete", name)
    cli("port", "set", "--no-security-group", port["id"])
    assert conn.network.get_port(port["id"]).security_group_ids == []
    cli("security", "group", "rule", "delete", rule["id"])
    cli("security", "group", "delete", name)


def test_sdk_ports_take_the_default_group(conn, mk):
    net = mk.network(name=uniq("sgdef"))
    mk.subnet(network_id=net.id, cidr="10.64.0.0/24")
    port = mk.port(network_id=net.id)
    default = conn.network.find_security_group("default", project_id=port.project_id)
    assert port.security_group_ids == [default.id]
    with pytest.raises(openstack.exceptions.ConflictException):
        conn.network.update_port(port, port_security_enabled=False)
    port = conn.network.update_port(port, port_security_enabled=False, security_group_ids=[])
    assert port.is_port_security_enabled is False
