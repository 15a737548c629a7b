"""Ports: addresses, MACs, allowed address pairs, extra DHCP options, bulk (ports.inc)."""

import ipaddress

import pytest

from openstack import exceptions

from conftest import raw, uniq

SUBNET = ipaddress.ip_network("10.20.0.0/24")  # net_v4's subnet


def test_create_defaults_show_list_update_delete(conn, mk, net_v4):
    net, sub = net_v4
    name = uniq("p")
    port = mk.port(network_id=net.id, name=name)
    assert port.name == name
    assert port.network_id == net.id
    assert port.status == "DOWN"
    assert port.is_admin_state_up is True
    assert port.device_id == "" and port.device_owner == ""
    assert port.mac_address.startswith("fa:16:3e:")  # Neutron's base_mac
    assert port.binding_vnic_type == "normal"
    assert port.binding_vif_type == "unbound"
    assert port.is_port_security_enabled is True
    assert port.allowed_address_pairs == []
    assert port.extra_dhcp_opts == []
    assert port.project_id == net.project_id
    [fip] = port.fixed_ips
    assert fip["subnet_id"] == sub.id
    addr = ipaddress.ip_address(fip["ip_address"])
    assert addr in SUBNET
    assert str(addr) not in ("10.20.0.0", "10.20.0.1", "10.20.0.255")
    rev = port.revision_number

    assert conn.network.get_port(port.id).mac_address == port.mac_address
    assert [p.id for p in conn.network.ports(network_id=net.id)] == [port.id]

    upd = conn.network.update_port(
        port, name=name + "-x", device_id="vm-1", device_owner="compute:nova",
        description="d",
    )
    assert (upd.name, upd.device_id, upd.device_owner, upd.description) == (
        name + "-x", "vm-1", "compute:nova", "d")
    assert upd.revision_number > rev

    conn.network.delete_port(port, ignore_missing=False)
    with pytest.raises(exceptions.NotFoundException):
        conn.network.get_port(port.id)


def test_port_on_network_without_subnets_has_no_ips(mk):
    net = mk.network(name=uniq("bare"))
    port = mk.port(network_id=net.id)
    assert port.fixed_ips == []


def test_port_on_missing_network_is_404(mk):
    with pytest.raises(exceptions.NotFoundException):
        mk.port(network_id="0b4f6c0e-1111-4222-8333-444455556666")


def test_fixed_ip_by_subnet(mk, net_v4):
    net, sub = net_v4
    port = mk.port(network_id=net.id, fixed_ips=[{"subnet_id": sub.id}])
    [fip] = port.fixed_ips
    assert fip["subnet_id"] == sub.id
    assert ipaddress.ip_address(fip["ip_address"]) in SUBNET


def test_fixed_ip_by_subnet_and_address(mk, net_v4):
    net, sub = net_v4
    port = mk.port(network_id=net.id,
                   fixed_ips=[{"subnet_id": sub.id, "ip_address": "10.20.0.50"}])
    assert port.fixed_ips == [{"subnet_id": sub.id, "ip_address": "10.20.0.50"}]


def test_fixed_ip_by_address_only(mk, net_v4):
    net, sub = net_v4
    port = mk.port(network_id=net.id, fixed_ips=[{"ip_address": "10.20.0.51"}])
    assert port.fixed_ips == [{"subnet_id": sub.id, "ip_address": "10.20.0.51"}]


def test_fixed_ip_outside_pool_but_inside_subnet(mk):
    # An explicit address need only be inside the CIDR, not inside a pool.
    net = mk.network(name=uniq("n"))
    sub = mk.subnet(network_id=net.id, cidr="10.21.0.0/24",
                    allocation_pools=[{"start": "10.21.0.100", "end": "10.21.0.110"}])
    port = mk.port(network_id=net.id,
                   fixed_ips=[{"subnet_id": sub.id, "ip_address": "10.21.0.7"}])
    assert port.fixed_ips[0]["ip_address"] == "10.21.0.7"


def test_address_already_allocated_is_conflict(mk, net_v4):
    net, sub = net_v4
    mk.port(network_id=net.id, fixed_ips=[{"ip_address": "10.20.0.60"}])
    with pytest.raises(exceptions.ConflictException) as ei:
        mk.port(network_id=net.id,
                fixed_ips=[{"subnet_id": sub.id, "ip_address": "10.20.0.60"}])
    assert ei.value.response.json()["NeutronError"]["type"] == "IpAddressAlreadyAllocated"


def test_address_outside_subnet_is_bad_request(mk, net_v4):
    net, sub = net_v4
    with pytest.raises(exceptions.BadRequestException) as ei:
        mk.port(network_id=net.id,
                fixed_ips=[{"subnet_id": sub.id, "ip_address": "10.99.0.5"}])
    assert ei.value.response.json()["NeutronError"]["type"] == "InvalidIpForSubnet"


def test_address_outside_every_subnet_of_network_is_bad_request(mk, net_v4):
    net, _sub = net_v4
    with pytest.raises(exceptions.BadRequestException) as ei:
        mk.port(network_id=net.id, fixed_ips=[{"ip_address": "10.99.0.5"}])
    assert ei.value.response.json()["NeutronError"]["type"] == "InvalidIpForNetwork"


def test_subnet_of_another_network_is_bad_request(mk, net_v4):
    net, _sub = net_v4
    other = mk.network(name=uniq("other"))
    other_sub = mk.subnet(network_id=other.id, cidr="10.22.0.0/24")
    with pytest.raises(exceptions.BadRequestException):
        mk.port(network_id=net.id, fixed_ips=[{"subnet_id": other_sub.id}])


def test_update_fixed_ips_releases_old_address(conn, mk, net_v4):
    net, sub = net_v4
    port = mk.port(network_id=net.id, fixed_ips=[{"ip_address": "10.20.0.70"}])
    upd = conn.network.update_port(
        port, fixed_ips=[{"subnet_id": sub.id, "ip_address": "10.20.0.71"}])
    assert upd.fixed_ips == [{"subnet_id": sub.id, "ip_address": "10.20.0.71"}]
    again = mk.port(network_id=net.id, fixed_ips=[{"ip_address": "10.20.0.70"}])
    assert again.fixed_ips[0]["ip_address"] == "10.20.0.70"
    with pytest.raises(exceptions.ConflictException):
        conn.network.update_port(again, fixed_ips=[{"ip_address": "10.20.0.71"}])


def test_deleting_port_frees_its_address(conn, mk, net_v4):
    net, _sub = net_v4
    port = mk.port(network_id=net.id, fixed_ips=[{"ip_address": "10.20.0.80"}])
    conn.network.delete_port(port)
    again = mk.port(network_id=net.id, fixed_ips=[{"ip_address": "10.20.0.80"}])
    assert again.fixed_ips[0]["ip_address"] == "10.20.0.80"


def test_given_mac_and_duplicate_mac(mk, net_v4):
    net, _sub = net_v4
    port = mk.port(network_id=net.id, mac_address="fa:16:3e:00:aa:01")
    assert port.mac_address == "fa:16:3e:00:aa:01"
    with pytest.raises(exceptions.ConflictException) as ei:
        mk.port(network_id=net.id, mac_address="fa:16:3e:00:aa:01")
    assert ei.value.response.json()["NeutronError"]["type"] == "MacAddressInUse"


def test_same_mac_on_another_network_is_allowed(mk, net_v4):
    net, _sub = net_v4
    other = mk.network(name=uniq("other"))
    mk.port(network_id=net.id, mac_address="fa:16:3e:00:aa:02")
    p2 = mk.port(network_id=other.id, mac_address="fa:16:3e:00:aa:02")
    assert p2.mac_address == "fa:16:3e:00:aa:02"


@pytest.mark.parametrize("mac", ["zz:16:3e:00:00:01", "00:00:00:00:00:00",
                                 "ff:ff:ff:ff:ff:ff"])
def test_invalid_mac_is_bad_request(mk, net_v4, mac):
    net, _sub = net_v4
    with pytest.raises(exceptions.BadRequestException):
        mk.port(network_id=net.id, mac_address=mac)


def test_allowed_address_pairs(conn, mk, net_v4):
    net, _sub = net_v4
    port = mk.port(network_id=net.id, allowed_address_pairs=[
        {"ip_address": "10.20.0.200"},
        {"ip_address": "192.168.50.0/24", "mac_address": "fa:16:3e:bb:bb:bb"},
    ])
    # A pair without a MAC takes the port's own MAC.
    assert port.allowed_address_pairs == [
        {"ip_address": "10.20.0.200", "mac_address": port.mac_address},
        {"ip_address": "192.168.50.0/24", "mac_address": "fa:16:3e:bb:bb:bb"},
    ]
    upd = conn.network.update_port(
        port, allowed_address_pairs=[{"ip_address": "10.20.0.201"}])
    assert upd.allowed_address_pairs == [
        {"ip_address": "10.20.0.201", "mac_address": port.mac_address}]
    cleared = conn.network.update_port(port, allowed_address_pairs=[])
    assert cleared.allowed_address_pairs == []


def test_allowed_address_pairs_need_port_security(mk, net_v4):
    net, _sub = net_v4
    with pytest.raises(exceptions.ConflictException):
        mk.port(network_id=net.id, is_port_security_enabled=False,
                allowed_address_pairs=[{"ip_address": "10.20.0.210"}])


def test_duplicate_allowed_address_pairs_rejected(mk, net_v4):
    net, _sub = net_v4
    with pytest.raises(exceptions.BadRequestException):
        mk.port(network_id=net.id, allowed_address_pairs=[
            {"ip_address": "10.20.0.220"}, {"ip_address": "10.20.0.220"}])


def test_extra_dhcp_opts(conn, mk, net_v4):
    net, _sub = net_v4
    port = mk.port(network_id=net.id, extra_dhcp_opts=[
        {"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
        {"opt_name": "tftp-server", "opt_value": "192.0.2.10"},
    ])

    def opts(p):
        return sorted((o["opt_name"], o["opt_value"], o["ip_version"])
                      for o in p.extra_dhcp_opts)

    # ip_version defaults to 4.
    assert opts(port) == [("bootfile-name", "pxelinux.0", 4),
                          ("tftp-server", "192.0.2.10", 4)]
    # An update merges by name: a null value removes that option, a new name
    # adds one, options not named are kept.
    upd = conn.network.update_port(port, extra_dhcp_opts=[
        {"opt_name": "tftp-server", "opt_value": None},
        {"opt_name": "server-ip-address", "opt_value": "192.0.2.11"},
    ])
    assert opts(upd) == [("bootfile-name", "pxelinux.0", 4),
                         ("server-ip-address", "192.0.2.11", 4)]
    assert opts(conn.network.get_port(port.id)) == opts(upd)


def test_port_security_disabled_port(mk, net_v4):
    net, _sub = net_v4
    port = mk.port(network_id=net.id, is_port_security_enabled=False)
    assert port.is_port_security_enabled is False


def test_port_inherits_network_port_security(mk):
    net = mk.network(name=uniq("nops"), is_port_security_enabled=False)
    port = mk.port(network_id=net.id)
    assert port.is_port_security_enabled is False


def test_bulk_create_ports(conn, mk, net_v4):
    net, sub = net_v4
    tag = uniq("bulkp")
    # (the fixed address first, so the other item's random pick cannot take it)
    ports = list(conn.network.create_ports([
        {"network_id": net.id, "name": tag + "-b",
         "fixed_ips": [{"subnet_id": sub.id, "ip_address": "10.20.0.90"}]},
        {"network_id": net.id, "name": tag + "-a"},
    ]))
    for p in ports:
        mk.add("port", p)
    assert sorted(p.name for p in ports) == [tag + "-a", tag + "-b"]
    assert {p.network_id for p in ports} == {net.id}
    b = next(p for p in ports if p.name == tag + "-b")
    assert b.fixed_ips == [{"subnet_id": sub.id, "ip_address": "10.20.0.90"}]
    assert len({p.mac_address for p in ports}) == 2


def test_bulk_ports_with_a_bad_item_create_nothing(conn, mk, net_v4):
    net, sub = net_v4
    tag = uniq("bulkbad")
    with pytest.raises(exceptions.BadRequestException):
        list(conn.network.create_ports([
            {"network_id": net.id, "name": tag + "-ok"},
            {"network_id": net.id, "name": tag + "-bad",
             "fixed_ips": [{"subnet_id": sub.id, "ip_address": "10.99.9.9"}]},
        ]))
    assert list(conn.network.ports(network_id=net.id)) == []


def test_bulk_ports_conflicting_with_each_other_create_nothing(conn, mk, net_v4):
    net, sub = net_v4
    tag = uniq("bulkdup")
    with pytest.raises(exceptions.ConflictException):
        list(conn.network.create_ports([
            {"network_id": net.id, "name": tag + "-1",
             "fixed_ips": [{"ip_address": "10.20.0.95"}]},
            {"network_id": net.id, "name": tag + "-2",
             "fixed_ips": [{"ip_address": "10.20.0.95"}]},
        ]))
    assert list(conn.network.ports(network_id=net.id)) == []
    # the address is free again
    p = mk.port(network_id=net.id, fixed_ips=[{"ip_address": "10.20.0.95"}])
    assert p.fixed_ips[0]["ip_address"] == "10.20.0.95"


def test_bulk_raw_response_is_201_with_list(conn, mk, net_v4):
    net, _sub = net_v4
    resp = raw(conn.network, "POST", "/ports", json={"ports": [
        {"network_id": net.id}, {"network_id": net.id}]})
    for p in resp.json()["ports"]:
        mk.add("port", p["id"])
    assert resp.status_code == 201
    assert len(resp.json()["ports"]) == 2


def test_two_addresses_from_one_subnet(mk, net_v4):
    net, sub = net_v4
    port = mk.port(network_id=net.id,
                   fixed_ips=[{"subnet_id": sub.id}, {"subnet_id": sub.id}])
    addrs = {f["ip_address"] for f in port.fixed_ips}
    assert len(addrs) == 2
    assert {f["subnet_id"] for f in port.fixed_ips} == {sub.id}


def test_empty_fixed_ips_means_no_address(mk, net_v4):
    net, _sub = net_v4
    port = mk.port(network_id=net.id, fixed_ips=[])
    assert port.fixed_ips == []


def test_update_mac_of_unbound_port(conn, mk, net_v4):
    net, _sub = net_v4
    port = mk.port(network_id=net.id)
    upd = conn.network.update_port(port.id, mac_address="fa:16:3e:00:ab:cd")
    assert upd.mac_address == "fa:16:3e:00:ab:cd"


def test_extra_dhcp_opt_ipv6(mk, net_v4):
    net, _sub = net_v4
    port = mk.port(network_id=net.id, extra_dhcp_opts=[
        {"opt_name": "dns-server", "opt_value": "[2001:db8::53]", "ip_version": 6}])
    assert port.extra_dhcp_opts == [
        {"opt_name": "dns-server", "opt_value": "[2001:db8::53]", "ip_version": 6}]
