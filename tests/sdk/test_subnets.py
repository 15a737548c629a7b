"""Subnets: IPv4 and IPv6 (SLAAC, DHCPv6), pools, updates, deletes (subnets.inc)."""

import ipaddress

import pytest

from openstack import exceptions

from conftest import raw, uniq


def _ip(text):
    # IPv6 text forms may differ in zero compression; compare the addresses.
    return ipaddress.ip_address(text)


def _pools(subnet):
    return [(_ip(p["start"]), _ip(p["end"])) for p in subnet.allocation_pools]


def test_ipv4_defaults_and_crud(conn, mk):
    net = mk.network(name=uniq("n"))
    name = uniq("s4")
    sub = mk.subnet(network_id=net.id, cidr="10.30.0.0/24", name=name)
    assert sub.name == name
    assert sub.network_id == net.id
    assert sub.ip_version == 4
    assert sub.cidr == "10.30.0.0/24"
    assert sub.gateway_ip == "10.30.0.1"
    assert sub.allocation_pools == [{"start": "10.30.0.2", "end": "10.30.0.254"}]
    assert sub.is_dhcp_enabled is True
    assert sub.dns_nameservers == []
    assert sub.host_routes == []
    assert sub.ipv6_address_mode is None and sub.ipv6_ra_mode is None
    assert sub.subnet_pool_id is None
    assert sub.project_id == net.project_id
    rev = sub.revision_number

    assert conn.network.get_subnet(sub.id).cidr == "10.30.0.0/24"
    assert [s.id for s in conn.network.subnets(name=name)] == [sub.id]
    assert [s.id for s in conn.network.subnets(network_id=net.id)] == [sub.id]

    upd = conn.network.update_subnet(
        sub, name=name + "-x", dns_nameservers=["192.0.2.53", "192.0.2.54"],
        host_routes=[{"destination": "192.168.7.0/24", "nexthop": "10.30.0.254"}],
        is_dhcp_enabled=False,
    )
    assert upd.name == name + "-x"
    assert upd.dns_nameservers == ["192.0.2.53", "192.0.2.54"]  # order kept
    assert upd.host_routes == [{"destination": "192.168.7.0/24", "nexthop": "10.30.0.254"}]
    assert upd.is_dhcp_enabled is False
    assert upd.revision_number > rev

    conn.network.delete_subnet(sub, ignore_missing=False)
    with pytest.raises(exceptions.NotFoundException):
        conn.network.get_subnet(sub.id)
    assert conn.network.get_network(net.id).subnet_ids == []


def test_ipv4_without_gateway(mk):
    net = mk.network(name=uniq("n"))
    sub = mk.subnet(network_id=net.id, cidr="10.31.0.0/28", gateway_ip=None)
    assert sub.gateway_ip is None
    assert sub.allocation_pools == [{"start": "10.31.0.1", "end": "10.31.0.14"}]


def test_ipv4_gateway_in_the_middle_splits_default_pool(mk):
    net = mk.network(name=uniq("n"))
    sub = mk.subnet(network_id=net.id, cidr="10.32.0.0/28", gateway_ip="10.32.0.5")
    assert sub.gateway_ip == "10.32.0.5"
    assert sub.allocation_pools == [
        {"start": "10.32.0.1", "end": "10.32.0.4"},
        {"start": "10.32.0.6", "end": "10.32.0.14"},
    ]


def test_explicit_pools_dns_routes(mk):
    net = mk.network(name=uniq("n"))
    sub = mk.subnet(
        network_id=net.id, cidr="10.33.0.0/24", gateway_ip="10.33.0.1",
        allocation_pools=[{"start": "10.33.0.100", "end": "10.33.0.150"}],
        dns_nameservers=["8.8.8.8"],
        host_routes=[{"destination": "0.0.0.0/0", "nexthop": "10.33.0.1"}],
    )
    assert sub.allocation_pools == [{"start": "10.33.0.100", "end": "10.33.0.150"}]
    assert sub.dns_nameservers == ["8.8.8.8"]
    assert sub.host_routes == [{"destination": "0.0.0.0/0", "nexthop": "10.33.0.1"}]


def test_update_allocation_pools_and_gateway(conn, mk):
    net = mk.network(name=uniq("n"))
    sub = mk.subnet(network_id=net.id, cidr="10.34.0.0/24")
    upd = conn.network.update_subnet(
        sub, allocation_pools=[{"start": "10.34.0.10", "end": "10.34.0.20"}],
        gateway_ip="10.34.0.254",
    )
    assert upd.allocation_pools == [{"start": "10.34.0.10", "end": "10.34.0.20"}]
    assert upd.gateway_ip == "10.34.0.254"


@pytest.mark.parametrize("attrs,exc", [
    ({"cidr": "10.35.0.0/33"}, exceptions.BadRequestException),
    ({"cidr": "not-a-cidr"}, exceptions.BadRequestException),
    ({"cidr": "10.35.0.0/24", "ip_version": 6}, exceptions.BadRequestException),
    ({"cidr": "10.35.0.0/24",
      "allocation_pools": [{"start": "10.36.0.2", "end": "10.36.0.9"}]},
     exceptions.BadRequestException),
    ({"cidr": "10.35.0.0/24", "gateway_ip": "10.35.0.5",
      "allocation_pools": [{"start": "10.35.0.2", "end": "10.35.0.9"}]},
     exceptions.ConflictException),
    ({"cidr": "10.35.0.0/24",
      "allocation_pools": [{"start": "10.35.0.2", "end": "10.35.0.9"},
                           {"start": "10.35.0.8", "end": "10.35.0.20"}]},
     exceptions.ConflictException),
    ({"cidr": "10.35.0.0/24", "dns_nameservers": ["1.1.1.1", "1.1.1.1"]},
     exceptions.BadRequestException),
], ids=["prefix-33", "garbage-cidr", "version-mismatch", "pool-outside-cidr",
        "gateway-in-pool", "overlapping-pools", "duplicate-dns"])
def test_invalid_subnet_create(mk, attrs, exc):
    net = mk.network(name=uniq("n"))
    attrs = dict(attrs)
    attrs.setdefault("ip_version", 4)
    with pytest.raises(exc):
        mk.subnet(network_id=net.id, **attrs)


def test_overlapping_cidr_on_same_network_is_400(mk):
    net = mk.network(name=uniq("n"))
    mk.subnet(network_id=net.id, cidr="10.37.0.0/24")
    with pytest.raises(exceptions.BadRequestException):
        mk.subnet(network_id=net.id, cidr="10.37.0.128/25")


def test_same_cidr_on_another_network_is_fine(mk):
    n1 = mk.network(name=uniq("n"))
    n2 = mk.network(name=uniq("n"))
    mk.subnet(network_id=n1.id, cidr="10.38.0.0/24")
    s2 = mk.subnet(network_id=n2.id, cidr="10.38.0.0/24")
    assert s2.cidr == "10.38.0.0/24"


def test_subnet_on_missing_network_is_404(mk):
    with pytest.raises(exceptions.NotFoundException):
        mk.subnet(network_id="8d9c0a63-8c2e-4a5b-9d3f-000000000000", cidr="10.39.0.0/24")


def test_update_read_only_cidr_is_400(conn, mk):
    net = mk.network(name=uniq("n"))
    sub = mk.subnet(network_id=net.id, cidr="10.40.0.0/24")
    with pytest.raises(exceptions.BadRequestException):
        raw(conn.network, "PUT", f"/subnets/{sub.id}",
            json={"subnet": {"cidr": "10.40.1.0/24"}})
    assert conn.network.get_subnet(sub.id).cidr == "10.40.0.0/24"


def test_ipv6_slaac(conn, mk):
    net = mk.network(name=uniq("n6"))
    sub = mk.subnet(network_id=net.id, ip_version=6, cidr="2001:db8:10::/64",
                    ipv6_address_mode="slaac", ipv6_ra_mode="slaac")
    assert sub.ip_version == 6
    assert sub.cidr == "2001:db8:10::/64"
    assert sub.gateway_ip == "2001:db8:10::1"
    assert sub.ipv6_address_mode == "slaac"
    assert sub.ipv6_ra_mode == "slaac"
    assert _pools(sub) == [(_ip("2001:db8:10::2"), _ip("2001:db8:10::ffff:ffff:ffff:ffff"))]
    assert conn.network.get_subnet(sub.id).ipv6_address_mode == "slaac"


def test_ipv6_slaac_port_gets_eui64_address(conn, mk):
    net = mk.network(name=uniq("n6"))
    sub = mk.subnet(network_id=net.id, ip_version=6, cidr="2001:db8:11::/64",
                    ipv6_address_mode="slaac", ipv6_ra_mode="slaac")
    port = mk.port(network_id=net.id, mac_address="fa:16:3e:11:22:33")
    # EUI-64: flip the U/L bit of the first octet, insert ff:fe in the middle.
    [fip] = port.fixed_ips
    assert fip["subnet_id"] == sub.id
    assert _ip(fip["ip_address"]) == _ip("2001:db8:11::f816:3eff:fe11:2233")


def test_ipv6_slaac_refuses_a_fixed_address(mk):
    net = mk.network(name=uniq("n6"))
    sub = mk.subnet(network_id=net.id, ip_version=6, cidr="2001:db8:12::/64",
                    ipv6_address_mode="slaac", ipv6_ra_mode="slaac")
    with pytest.raises(exceptions.BadRequestException):
        mk.port(network_id=net.id,
                fixed_ips=[{"subnet_id": sub.id, "ip_address": "2001:db8:12::99"}])


def test_ipv6_slaac_needs_a_64_prefix(mk):
    net = mk.network(name=uniq("n6"))
    with pytest.raises(exceptions.BadRequestException):
        mk.subnet(network_id=net.id, ip_version=6, cidr="2001:db8:13::/80",
                  ipv6_address_mode="slaac", ipv6_ra_mode="slaac")


def test_ipv6_mismatched_modes_rejected(mk):
    net = mk.network(name=uniq("n6"))
    with pytest.raises(exceptions.BadRequestException):
        mk.subnet(network_id=net.id, ip_version=6, cidr="2001:db8:14::/64",
                  ipv6_address_mode="dhcpv6-stateful", ipv6_ra_mode="slaac")


def test_ipv6_dhcpv6_stateful_allocates_from_pool(mk):
    net = mk.network(name=uniq("n6"))
    sub = mk.subnet(network_id=net.id, ip_version=6, cidr="2001:db8:15::/64",
                    ipv6_address_mode="dhcpv6-stateful",
                    ipv6_ra_mode="dhcpv6-stateful")
    port = mk.port(network_id=net.id)
    [fip] = port.fixed_ips
    assert fip["subnet_id"] == sub.id
    addr = ipaddress.ip_address(fip["ip_address"])
    assert addr in ipaddress.ip_network("2001:db8:15::/64")
    assert addr != ipaddress.ip_address("2001:db8:15::1")


def test_port_on_dual_stack_network_gets_both_families(mk):
    net = mk.network(name=uniq("ds"))
    s4 = mk.subnet(network_id=net.id, cidr="10.43.0.0/24")
    s6 = mk.subnet(network_id=net.id, ip_version=6, cidr="2001:db8:16::/64",
                   ipv6_address_mode="slaac", ipv6_ra_mode="slaac")
    port = mk.port(network_id=net.id)
    assert sorted(f["subnet_id"] for f in port.fixed_ips) == sorted([s4.id, s6.id])


def test_delete_refused_while_port_holds_address(conn, mk, net_v4):
    net, sub = net_v4
    port = mk.port(network_id=net.id, fixed_ips=[{"subnet_id": sub.id}])
    with pytest.raises(exceptions.ConflictException) as ei:
        conn.network.delete_subnet(sub)
    assert ei.value.response.json()["NeutronError"]["type"] == "SubnetInUse"
    assert conn.network.get_subnet(sub.id).id == sub.id
    conn.network.delete_port(port)
    conn.network.delete_subnet(sub, ignore_missing=False)
    with pytest.raises(exceptions.NotFoundException):
        conn.network.get_subnet(sub.id)


@pytest.mark.parametrize("gateway", ["10.45.0.0", "10.45.0.255"],
                         ids=["network-address", "broadcast"])
def test_gateway_on_network_or_broadcast_address_is_400(mk, gateway):
    net = mk.network(name=uniq("n"))
    with pytest.raises(exceptions.BadRequestException):
        mk.subnet(network_id=net.id, cidr="10.45.0.0/24", gateway_ip=gateway)


def test_too_many_dns_nameservers_is_400(mk):
    net = mk.network(name=uniq("n"))
    with pytest.raises(exceptions.BadRequestException):
        mk.subnet(network_id=net.id, cidr="10.46.0.0/24",
                  dns_nameservers=[f"192.0.2.{i}" for i in range(1, 7)])


def test_exhausted_subnet_is_conflict(mk):
    # a /30 has two usable addresses; the gateway takes one
    net = mk.network(name=uniq("n"))
    sub = mk.subnet(network_id=net.id, cidr="10.47.0.0/30")
    assert sub.allocation_pools == [{"start": "10.47.0.2", "end": "10.47.0.2"}]
    first = mk.port(network_id=net.id)
    assert first.fixed_ips[0]["ip_address"] == "10.47.0.2"
    with pytest.raises(exceptions.ConflictException) as ei:
        mk.port(network_id=net.id)
    assert ei.value.response.json()["NeutronError"]["type"] == "IpAddressGenerationFailure"


def test_dhcp_port_does_not_block_subnet_delete(conn, mk, net_v4):
    # like Neutron: a network:dhcp port's address on the subnet is released
    net, sub = net_v4
    dhcp = mk.port(network_id=net.id, device_owner="network:dhcp", device_id="dhcp-y")
    conn.network.delete_subnet(sub, ignore_missing=False)
    assert conn.network.get_port(dhcp.id).fixed_ips == []


def test_too_many_host_routes_is_400(mk):
    net = mk.network(name=uniq("n"))
    routes = [{"destination": f"192.168.{i}.0/24", "nexthop": "10.48.0.254"}
              for i in range(21)]
    with pytest.raises(exceptions.BadRequestException):
        mk.subnet(network_id=net.id, cidr="10.48.0.0/24", host_routes=routes)


def test_update_gateway_into_pool_or_overlapping_pools_is_409(conn, mk):
    net = mk.network(name=uniq("n"))
    sub = mk.subnet(network_id=net.id, cidr="10.49.0.0/24")
    with pytest.raises(exceptions.ConflictException):
        conn.network.update_subnet(sub.id, gateway_ip="10.49.0.50")
    with pytest.raises(exceptions.ConflictException):
        conn.network.update_subnet(sub.id, allocation_pools=[
            {"start": "10.49.0.2", "end": "10.49.0.9"},
            {"start": "10.49.0.5", "end": "10.49.0.20"}])
    after = conn.network.get_subnet(sub.id)
    assert after.gateway_ip == "10.49.0.1"
    assert after.allocation_pools == [{"start": "10.49.0.2", "end": "10.49.0.254"}]


def test_slaac_subnet_delete_releases_autoconfigured_addresses(conn, mk):
    # Neutron refuses SubnetInUse only for user allocations on non-SLAAC
    # subnets; SLAAC addresses are simply removed from the ports.
    net = mk.network(name=uniq("n6"))
    s4 = mk.subnet(network_id=net.id, cidr="10.50.0.0/24")
    s6 = mk.subnet(network_id=net.id, ip_version=6, cidr="2001:db8:17::/64",
                   ipv6_address_mode="slaac", ipv6_ra_mode="slaac")
    port = mk.port(network_id=net.id)
    assert {f["subnet_id"] for f in port.fixed_ips} == {s4.id, s6.id}
    conn.network.delete_subnet(s6, ignore_missing=False)
    assert [f["subnet_id"] for f in conn.network.get_port(port.id).fixed_ips] == [s4.id]
    with pytest.raises(exceptions.ConflictException):
        conn.network.delete_subnet(s4)
