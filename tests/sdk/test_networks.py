"""Networks: CRUD, defaults, provider networks (networks.inc)."""

import pytest

from openstack import exceptions

from conftest import VLAN_RANGE, raw, uniq


def test_create_show_list_update_delete(conn, mk):
    name = uniq("net")
    net = mk.network(name=name, description="first")
    assert net.name == name
    assert net.description == "first"
    assert net.status == "ACTIVE"
    assert net.is_admin_state_up is True
    assert net.is_shared is False
    assert net.is_router_external is False
    assert net.is_port_security_enabled is True
    assert net.subnet_ids == []
    assert net.tags == []
    assert net.provider_network_type == "vxlan"  # tenant_network_types
    assert net.provider_physical_network is None
    assert 1 <= net.provider_segmentation_id <= 65535
    assert net.mtu == 1450  # 1500 less the 50-byte VXLAN/IPv4 overhead
    assert net.created_at and net.updated_at
    assert net.created_at.endswith("Z")
    rev = net.revision_number
    assert rev >= 0

    body = raw(conn.network, "GET", f"/networks/{net.id}").json()["network"]
    assert body["project_id"] == body["tenant_id"]
    assert body["availability_zone_hints"] == []

    shown = conn.network.get_network(net.id)
    assert shown.id == net.id and shown.name == name

    listed = list(conn.network.networks(name=name))
    assert [n.id for n in listed] == [net.id]
    assert conn.network.find_network(name).id == net.id

    upd = conn.network.update_network(
        net, name=name + "-x", description="second", is_admin_state_up=False
    )
    assert upd.name == name + "-x"
    assert upd.description == "second"
    assert upd.is_admin_state_up is False
    assert upd.revision_number > rev
    assert conn.network.get_network(net.id).name == name + "-x"

    conn.network.delete_network(net, ignore_missing=False)
    with pytest.raises(exceptions.NotFoundException):
        conn.network.get_network(net.id)
    assert list(conn.network.networks(name=name + "-x")) == []


def test_create_returns_201(conn, mk):
    resp = raw(conn.network, "POST", "/networks",
               json={"network": {"name": uniq("code")}})
    mk.add("network", resp.json()["network"]["id"])
    assert resp.status_code == 201


def test_delete_returns_204(conn):
    net = conn.network.create_network(name=uniq("del"))
    resp = raw(conn.network, "DELETE", f"/networks/{net.id}")
    assert resp.status_code == 204
    assert resp.content == b""


def test_admin_updates_shared_external_mtu_port_security(conn, mk):
    net = mk.network(name=uniq("upd"))
    upd = conn.network.update_network(
        net, is_shared=True, is_router_external=True, mtu=1400,
        is_port_security_enabled=False,
    )
    assert upd.is_shared is True
    assert upd.is_router_external is True
    assert upd.mtu == 1400
    assert upd.is_port_security_enabled is False


def test_network_shows_its_subnets(conn, mk):
    net = mk.network(name=uniq("withsub"))
    s1 = mk.subnet(network_id=net.id, cidr="10.41.0.0/24")
    s2 = mk.subnet(network_id=net.id, cidr="10.42.0.0/24")
    assert sorted(conn.network.get_network(net.id).subnet_ids) == sorted([s1.id, s2.id])


def test_delete_refused_while_port_exists(conn, mk, net_v4):
    net, _sub = net_v4
    port = mk.port(network_id=net.id)
    with pytest.raises(exceptions.ConflictException) as ei:
        conn.network.delete_network(net)
    assert ei.value.response.json()["NeutronError"]["type"] == "NetworkInUse"
    assert conn.network.get_network(net.id).id == net.id
    conn.network.delete_port(port)
    conn.network.delete_network(net, ignore_missing=False)
    with pytest.raises(exceptions.NotFoundException):
        conn.network.get_network(net.id)
    # the network's subnets went with it
    assert list(conn.network.subnets(network_id=net.id)) == []


# --------------------------------------------------------------------------
# provider networks (admin)


def test_provider_vxlan_with_id_then_taken(conn, mk):
    net = mk.network(name=uniq("vx"), provider_network_type="vxlan",
                     provider_segmentation_id=60001)
    assert net.provider_network_type == "vxlan"
    assert net.provider_segmentation_id == 60001
    assert net.provider_physical_network is None
    assert net.mtu == 1450
    with pytest.raises(exceptions.ConflictException):
        mk.network(name=uniq("vx2"), provider_network_type="vxlan",
                   provider_segmentation_id=60001)


def test_provider_vlan_on_physnet1(conn, mk):
    net = mk.network(name=uniq("vlan"), provider_network_type="vlan",
                     provider_physical_network="physnet1",
                     provider_segmentation_id=150)
    assert (net.provider_network_type, net.provider_physical_network,
            net.provider_segmentation_id) == ("vlan", "physnet1", 150)
    assert net.mtu == 1500
    with pytest.raises(exceptions.ConflictException):
        mk.network(name=uniq("vlan2"), provider_network_type="vlan",
                   provider_physical_network="physnet1",
                   provider_segmentation_id=150)
    # the segment is released with the network
    conn.network.delete_network(net)
    again = mk.network(name=uniq("vlan3"), provider_network_type="vlan",
                       provider_physical_network="physnet1",
                       provider_segmentation_id=150)
    assert again.provider_segmentation_id == 150


def test_provider_vlan_allocated_from_range(mk):
    net = mk.network(name=uniq("vlanauto"), provider_network_type="vlan",
                     provider_physical_network="physnet1")
    assert net.provider_segmentation_id in VLAN_RANGE


def test_provider_vlan_outside_range_on_known_physnet(mk):
    # Neutron lets an admin take a specific VLAN outside the tenant pool.
    net = mk.network(name=uniq("vlanout"), provider_network_type="vlan",
                     provider_physical_network="physnet1",
                     provider_segmentation_id=700)
    assert net.provider_segmentation_id == 700


@pytest.mark.parametrize("attrs", [
    {"provider_physical_network": "physnet-unknown", "provider_segmentation_id": 120},
    {"provider_physical_network": "physnet1", "provider_segmentation_id": 4095},
    {"provider_physical_network": "physnet1", "provider_segmentation_id": 0},
], ids=["unknown-physnet", "vlan-4095", "vlan-0"])
def test_provider_vlan_invalid(mk, attrs):
    with pytest.raises(exceptions.BadRequestException):
        mk.network(name=uniq("vlanbad"), provider_network_type="vlan", **attrs)


def test_provider_flat(conn, mk):
    physnet = uniq("flat")[-14:]
    net = mk.network(name=uniq("flat"), provider_network_type="flat",
                     provider_physical_network=physnet)
    assert net.provider_network_type == "flat"
    assert net.provider_physical_network == physnet
    assert net.provider_segmentation_id is None
    assert net.mtu == 1500
    with pytest.raises(exceptions.ConflictException):
        mk.network(name=uniq("flat2"), provider_network_type="flat",
                   provider_physical_network=physnet)


def test_provider_flat_rejects_segmentation_id(mk):
    with pytest.raises(exceptions.BadRequestException):
        mk.network(name=uniq("flatbad"), provider_network_type="flat",
                   provider_physical_network="physnetX",
                   provider_segmentation_id=5)


def test_provider_unknown_type(mk):
    with pytest.raises(exceptions.BadRequestException):
        mk.network(name=uniq("bogus"), provider_network_type="bogus")


def test_provider_local(mk):
    net = mk.network(name=uniq("local"), provider_network_type="local")
    assert net.provider_network_type == "local"
    assert net.provider_physical_network is None
    assert net.provider_segmentation_id is None


def test_bulk_create_networks_all_or_nothing(conn, mk):
    tag = uniq("bulk")
    ok = raw(conn.network, "POST", "/networks", json={"networks": [
        {"name": tag + "-a"}, {"name": tag + "-b"},
    ]})
    nets = ok.json()["networks"]
    for n in nets:
        mk.add("network", n["id"])
    assert ok.status_code == 201
    assert sorted(n["name"] for n in nets) == [tag + "-a", tag + "-b"]

    taken = mk.network(name=uniq("vxtaken"), provider_network_type="vxlan",
                       provider_segmentation_id=60077)
    assert taken.provider_segmentation_id == 60077
    with pytest.raises(exceptions.ConflictException):
        raw(conn.network, "POST", "/networks", json={"networks": [
            {"name": tag + "-c"},
            {"name": tag + "-d", "provider:network_type": "vxlan",
             "provider:segmentation_id": 60077},
        ]})
    assert list(conn.network.networks(name=tag + "-c")) == []
    assert list(conn.network.networks(name=tag + "-d")) == []


def test_mtu_above_the_type_maximum_is_400(conn, mk):
    # vxlan over global_physnet_mtu 1500: at most 1450
    with pytest.raises(exceptions.BadRequestException):
        mk.network(name=uniq("mtu"), mtu=9000)
    net = mk.network(name=uniq("mtu"))
    with pytest.raises(exceptions.BadRequestException):
        conn.network.update_network(net.id, mtu=1451)
    assert conn.network.get_network(net.id).mtu == 1450


def test_changing_provider_attributes_is_400(conn, mk):
    net = mk.network(name=uniq("pchg"), provider_network_type="vxlan",
                     provider_segmentation_id=60101)
    with pytest.raises(exceptions.BadRequestException):
        raw(conn.network, "PUT", f"/networks/{net.id}",
            json={"network": {"provider:segmentation_id": 60102}})
    assert conn.network.get_network(net.id).provider_segmentation_id == 60101


def test_dhcp_ports_do_not_block_network_delete(conn, mk, net_v4):
    # ML2 deletes network:dhcp ports itself when their network goes.
    net, _sub = net_v4
    dhcp = mk.port(network_id=net.id, device_owner="network:dhcp", device_id="dhcp-x")
    conn.network.delete_network(net, ignore_missing=False)
    with pytest.raises(exceptions.NotFoundException):
        conn.network.get_port(dhcp.id)
