"""Routers and floating IPs driven by the real `openstack` CLI and openstacksdk:
the classic topology -- private network, router, external network -- built the
way an operator and a tenant build it."""

import json

import openstack.exceptions
import pytest

from conftest import uniq
from test_cli import OPENSTACK, _run


@pytest.mark.skipif(not OPENSTACK.exists(), reason="no openstack CLI in this venv")
def test_openstack_cli_router_gateway_interface_floating_ip(neutrino, conn, mk, tmp_path):
    cli = lambda *a: _run(neutrino, tmp_path, *a)  # noqa: E731
    ext_name, net_name, r_name = uniq("ext"), uniq("priv"), uniq("router")
    ext = json.loads(cli("network", "create", ext_name, "--external", "-f", "json"))
    mk.add("network", ext["id"])
    assert ext["router:external"] is True
    ext_sub = json.loads(cli("subnet", "create", uniq("ext-sub"), "--network", ext_name,
                             "--subnet-range", "172.30.4.0/24", "--gateway", "172.30.4.1",
                             "--no-dhcp", "-f", "json"))
    mk.add("subnet", ext_sub["id"])
    net = json.loads(cli("network", "create", net_name, "-f", "json"))
    mk.add("network", net["id"])
    sub = json.loads(cli("subnet", "create", uniq("priv-sub"), "--network", net_name,
                         "--subnet-range", "10.61.0.0/24", "-f", "json"))
    mk.add("subnet", sub["id"])

    router = json.loads(cli("router", "create", r_name, "-f", "json"))
    mk.add("router", router["id"])
    assert router["status"] == "ACTIVE"
    assert router["external_gateway_info"] in (None, "null", {})
    cli("router", "set", r_name, "--external-gateway", ext_name)
    cli("router", "add", "subnet", r_name, sub["id"])
    shown = json.loads(cli("router", "show", r_name, "-f", "json"))
    gw = shown["external_gateway_info"]
    gw = json.loads(gw) if isinstance(gw, str) else gw
    assert gw["network_id"] == ext["id"]
    assert gw["enable_snat"] is True
    gw_ip = gw["external_fixed_ips"][0]["ip_address"]
    assert gw_ip.startswith("172.30.4.")
    interfaces = shown["interfaces_info"]
    interfaces = json.loads(interfaces) if isinstance(interfaces, str) else interfaces
    assert [i["ip_address"] for i in interfaces] == ["10.61.0.1"], shown

    port = json.loads(cli("port", "create", uniq("vm"), "--network", net_name, "-f", "json"))
    mk.add("port", port["id"])
    fixed = port["fixed_ips"][0]["ip_address"]
    fip = json.loads(cli("floating", "ip", "create", ext_name, "--port", port["id"], "-f", "json"))
    mk.add("ip", fip["id"])
    assert fip["fixed_ip_address"] == fixed
    assert fip["router_id"] == router["id"]
    assert fip["floating_ip_address"].startswith("172.30.4.")
    assert fip["floating_ip_address"] != gw_ip

    cli("floating", "ip", "unset", "--port", fip["id"])
    loose = json.loads(cli("floating", "ip", "show", fip["id"], "-f", "json"))
    assert loose["port_id"] is None and loose["router_id"] is None
    assert loose["status"] == "DOWN"
    cli("floating", "ip", "set", "--port", port["id"], fip["id"])
    again = json.loads(cli("floating", "ip", "show", fip["id"], "-f", "json"))
    assert again["port_id"] == port["id"] and again["status"] == "ACTIVE"
    listed = json.loads(cli("floating", "ip", "list", "--port", port["id"], "-f", "json"))
    assert [f["ID"] for f in listed] == [fip["id"]]

    # A port forwarding on a second floating IP.
    fip2 = json.loads(cli("floating", "ip", "create", ext_name, "-f", "json"))
    mk.add("ip", fip2["id"])
    port2 = json.loads(cli("port", "create", uniq("vm2"), "--network", net_name, "-f", "json"))
    mk.add("port", port2["id"])
    pf = json.loads(cli("floating", "ip", "port", "forwarding", "create",
                        "--internal-ip-address", port2["fixed_ips"][0]["ip_address"],
                        "--port", port2["id"],
                        "--internal-protocol-port", "22", "--external-protocol-port", "2222",
                        "--protocol", "tcp", fip2["id"], "-f", "json"))
    assert (pf["internal_port"], pf["external_port"], pf["protocol"]) == (22, 2222, "tcp"), pf
    listed = json.loads(cli("floating", "ip", "port", "forwarding", "list", fip2["id"], "-f", "json"))
    assert [p["ID"] for p in listed] == [pf["id"]]
    cli("floating", "ip", "port", "forwarding", "set", "--external-protocol-port", "2022", fip2["id"], pf["id"])
    shown_pf = json.loads(cli("floating", "ip", "port", "forwarding", "show", fip2["id"], pf["id"], "-f", "json"))
    assert shown_pf["external_port"] == 2022
    cli("floating", "ip", "port", "forwarding", "delete", fip2["id"], pf["id"])
    cli("floating", "ip", "delete", fip2["id"])

    cli("router", "set", r_name, "--route", "destination=192.168.5.0/24,gateway=10.61.0.254")
    routed = json.loads(cli("router", "show", r_name, "-f", "json"))
    assert routed["routes"] in ([{"destination": "192.168.5.0/24", "nexthop": "10.61.0.254"}],
                                "destination='192.168.5.0/24', gateway='10.61.0.254'"), routed
    cli("router", "unset", r_name, "--route", "destination=192.168.5.0/24,gateway=10.61.0.254")
    assert conn.network.get_router(router["id"]).routes == []

    # Neutron's refusals reach the CLI user as errors and change nothing.
    with pytest.raises(AssertionError, match="RouterInterfaceInUseByFloatingIP|required by one or more floating IPs"):
        cli("router", "remove", "subnet", r_name, sub["id"])
    with pytest.raises(AssertionError, match="still has ports|RouterInUse"):
        cli("router", "delete", r_name)
    cli("floating", "ip", "delete", fip["id"])
    cli("router", "remove", "subnet", r_name, sub["id"])
    cli("router", "unset", "--external-gateway", r_name)
    assert conn.network.get_router(router["id"]).external_gateway_info is None
    cli("router", "delete", r_name)


def test_sdk_floating_ip_needs_an_external_network_and_a_router(conn, mk):
    net = mk.network(name=uniq("plain"))
    sub = mk.subnet(network_id=net.id, cidr="10.62.0.0/24")
    with pytest.raises(openstack.exceptions.BadRequestException, match="not a valid external network"):
        conn.network.create_ip(floating_network_id=net.id)
    ext = mk.network(name=uniq("ext"), is_router_external=True)
    mk.subnet(network_id=ext.id, cidr="172.31.9.0/24")
    port = mk.port(network_id=net.id)
    with pytest.raises(openstack.exceptions.NotFoundException, match="not reachable from subnet"):
        conn.network.create_ip(floating_network_id=ext.id, port_id=port.id)
    assert list(conn.network.ips(floating_network_id=ext.id)) == []
    router = mk.add("router", conn.network.create_router(name=uniq("r"),
                                                        external_gateway_info={"network_id": ext.id}))
    conn.network.add_interface_to_router(router, subnet=sub.id)
    fip = mk.add("ip", conn.network.create_ip(floating_network_id=ext.id, port_id=port.id))
    assert fip.router_id == router.id
    assert fip.fixed_ip_address == port.fixed_ips[0]["ip_address"]
