"""Faults as the SDK sees them, and If-Match revision checks."""

import pytest

from openstack import exceptions

from conftest import raw, uniq

MISSING = "0c7e3a6a-5b1d-4e0f-9a53-00000000f00d"


@pytest.mark.parametrize("kind,fault", [
    ("network", "NetworkNotFound"), ("subnet", "SubnetNotFound"),
    ("port", "PortNotFound"),
])
def test_not_found(conn, kind, fault):
    get = getattr(conn.network, f"get_{kind}")
    with pytest.raises(exceptions.ResourceNotFound) as ei:
        get(MISSING)
    assert isinstance(ei.value, exceptions.NotFoundException)
    assert ei.value.status_code == 404
    err = ei.value.response.json()["NeutronError"]
    assert err["type"] == fault
    assert MISSING in err["message"]
    assert set(err) == {"type", "message", "detail"}
    # find_* returns None, delete with ignore_missing=False raises
    assert getattr(conn.network, f"find_{kind}")(MISSING) is None
    with pytest.raises(exceptions.NotFoundException):
        getattr(conn.network, f"delete_{kind}")(MISSING, ignore_missing=False)
    with pytest.raises(exceptions.NotFoundException):
        getattr(conn.network, f"update_{kind}")(MISSING, name="x")


def test_unknown_path_is_404(conn):
    with pytest.raises(exceptions.NotFoundException):
        raw(conn.network, "GET", "/no-such-collection")


def test_unknown_attribute_on_create_is_400(conn):
    name = uniq("unk")
    with pytest.raises(exceptions.BadRequestException) as ei:
        raw(conn.network, "POST", "/networks",
            json={"network": {"name": name, "no_such_attr": 1}})
    assert "no_such_attr" in ei.value.response.json()["NeutronError"]["message"]
    assert list(conn.network.networks(name=name)) == []


def test_unknown_attribute_on_update_is_400(conn, mk):
    net = mk.network(name=uniq("unk"))
    with pytest.raises(exceptions.BadRequestException):
        raw(conn.network, "PUT", f"/networks/{net.id}",
            json={"network": {"no_such_attr": 1}})


@pytest.mark.parametrize("body", [
    {"network": {"admin_state_up": "maybe"}},
    {"network": {"name": 42}},
    {"network": {"mtu": -1}},
    {"subnet": {"name": "wrong resource key"}},
], ids=["bad-bool", "name-not-string", "negative-mtu", "wrong-key"])
def test_invalid_create_body_is_400(conn, body):
    with pytest.raises(exceptions.BadRequestException):
        raw(conn.network, "POST", "/networks", json=body)


def test_malformed_json_is_400(conn):
    with pytest.raises(exceptions.BadRequestException):
        raw(conn.network, "POST", "/networks", data=b"{not json",
            headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("attr,value", [
    ("status", "DOWN"), ("id", "8b0d2a3e-1111-4111-8111-111111111111"),
])
def test_read_only_attribute_on_update_is_400(conn, mk, attr, value):
    net = mk.network(name=uniq("ro"))
    with pytest.raises(exceptions.BadRequestException):
        raw(conn.network, "PUT", f"/networks/{net.id}",
            json={"network": {attr: value}})


def test_update_network_if_revision(conn, mk):
    name = uniq("rev")
    net = mk.network(name=name)
    rev = conn.network.get_network(net.id).revision_number
    # (the SDK updates the local object it is given, so pass the id)
    with pytest.raises(exceptions.PreconditionFailedException) as ei:
        conn.network.update_network(net.id, if_revision=rev + 7, name="nope")
    assert ei.value.status_code == 412
    assert conn.network.get_network(net.id).name == name
    upd = conn.network.update_network(net.id, if_revision=rev, name=name + "-ok")
    assert upd.name == name + "-ok"
    assert upd.revision_number > rev
    with pytest.raises(exceptions.PreconditionFailedException):
        conn.network.update_network(net.id, if_revision=rev, name="stale")


def test_update_port_and_subnet_if_revision(conn, mk, net_v4):
    net, sub = net_v4
    port = mk.port(network_id=net.id)
    with pytest.raises(exceptions.PreconditionFailedException):
        conn.network.update_port(port, if_revision=port.revision_number + 3, name="x")
    assert conn.network.update_port(port, if_revision=port.revision_number,
                                    name="y").name == "y"
    with pytest.raises(exceptions.PreconditionFailedException):
        conn.network.update_subnet(sub, if_revision=sub.revision_number + 3, name="x")


def test_delete_if_revision(conn, mk):
    net = mk.network(name=uniq("revdel"))
    rev = conn.network.get_network(net.id).revision_number
    with pytest.raises(exceptions.PreconditionFailedException):
        conn.network.delete_network(net, if_revision=rev + 1)
    assert conn.network.get_network(net.id).id == net.id
    conn.network.delete_network(net, if_revision=rev, ignore_missing=False)
    with pytest.raises(exceptions.NotFoundException):
        conn.network.get_network(net.id)


def test_if_match_raw_header(conn, mk):
    net = mk.network(name=uniq("ifm"))
    rev = conn.network.get_network(net.id).revision_number
    with pytest.raises(exceptions.PreconditionFailedException):
        raw(conn.network, "PUT", f"/networks/{net.id}",
            json={"network": {"name": "a"}},
            headers={"If-Match": f"revision_number={rev + 1}"})
    resp = raw(conn.network, "PUT", f"/networks/{net.id}",
               json={"network": {"name": "b"}},
               headers={"If-Match": f"revision_number={rev}"})
    assert resp.json()["network"]["name"] == "b"
