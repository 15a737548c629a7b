"""Tags via the SDK's tag methods and the tag filters (tags.inc)."""

import pytest

from openstack import exceptions

from conftest import raw, uniq


def _tags(conn, res):
    return sorted(conn.network.get_tags(res))


def test_set_add_remove_replace_on_network(conn, mk):
    net = mk.network(name=uniq("tag"))
    assert _tags(conn, net) == []

    conn.network.set_tags(net, ["red", "blue"])
    assert _tags(conn, net) == ["blue", "red"]
    assert sorted(conn.network.get_network(net.id).tags) == ["blue", "red"]

    conn.network.add_tag(net, "green")
    assert _tags(conn, net) == ["blue", "green", "red"]
    conn.network.add_tag(net, "green")  # idempotent
    assert _tags(conn, net) == ["blue", "green", "red"]

    assert conn.network.check_tag(net, "blue")
    with pytest.raises(exceptions.NotFoundException):
        conn.network.check_tag(net, "purple")

    conn.network.remove_tag(net, "red")
    assert _tags(conn, net) == ["blue", "green"]
    with pytest.raises(exceptions.NotFoundException):
        conn.network.remove_tag(net, "red")

    conn.network.set_tags(net, ["x", "y"])  # replaces everything
    assert _tags(conn, net) == ["x", "y"]

    conn.network.remove_all_tags(net)
    assert _tags(conn, net) == []


def test_add_tags_keeps_existing(conn, mk):
    # POST /v2.0/{resource}/{id}/tags ("Create tags") adds, it does not replace.
    net = mk.network(name=uniq("tag"))
    conn.network.set_tags(net, ["a"])
    conn.network.add_tags(net, ["b", "c"])
    assert _tags(conn, net) == ["a", "b", "c"]


def test_tags_on_subnets_and_ports(conn, mk, net_v4):
    net, sub = net_v4
    port = mk.port(network_id=net.id)
    conn.network.set_tags(sub, ["s1"])
    conn.network.set_tags(port, ["p1", "p2"])
    assert conn.network.get_subnet(sub.id).tags == ["s1"]
    assert sorted(conn.network.get_port(port.id).tags) == ["p1", "p2"]
    assert [s.id for s in conn.network.subnets(tags="s1", network_id=net.id)] == [sub.id]
    assert [p.id for p in conn.network.ports(tags="p1,p2", network_id=net.id)] == [port.id]


def test_tag_status_codes(conn, mk):
    net = mk.network(name=uniq("tag"))
    base = f"/networks/{net.id}/tags"
    put = raw(conn.network, "PUT", base, json={"tags": ["k1", "k2"]})
    assert put.status_code == 200
    assert sorted(put.json()["tags"]) == ["k1", "k2"]
    assert raw(conn.network, "PUT", base + "/k3").status_code == 201
    assert raw(conn.network, "GET", base + "/k3").status_code == 204
    assert sorted(raw(conn.network, "GET", base).json()["tags"]) == ["k1", "k2", "k3"]
    assert raw(conn.network, "DELETE", base + "/k3").status_code == 204
    assert raw(conn.network, "DELETE", base).status_code == 204


def test_tags_revision_and_updated_at_bump(conn, mk):
    net = mk.network(name=uniq("tag"))
    rev = net.revision_number
    conn.network.add_tag(net, "bump")
    assert conn.network.get_network(net.id).revision_number > rev


def test_tag_on_missing_resource_is_404(conn):
    missing = "3f0d6e4f-0000-4000-8000-000000000abc"
    with pytest.raises(exceptions.NotFoundException):
        raw(conn.network, "PUT", f"/networks/{missing}/tags", json={"tags": ["a"]})
    with pytest.raises(exceptions.NotFoundException):
        raw(conn.network, "PUT", f"/networks/{missing}/tags/a")


def test_tag_too_long_is_400(conn, mk):
    net = mk.network(name=uniq("tag"))
    with pytest.raises(exceptions.BadRequestException):
        conn.network.set_tags(net, ["x" * 256])
    with pytest.raises(exceptions.BadRequestException):
        conn.network.add_tag(net, "y" * 256)
    conn.network.add_tag(net, "z" * 255)
    assert _tags(conn, net) == ["z" * 255]


def test_duplicate_tags_in_set_are_400(conn, mk):
    net = mk.network(name=uniq("tag"))
    with pytest.raises(exceptions.BadRequestException):
        conn.network.set_tags(net, ["dup", "dup"])


def test_port_takes_tags_at_create(conn, mk, net_v4):
    # ports accept tags in POST (tag-ports-during-bulk-creation)
    net, _sub = net_v4
    port = mk.port(network_id=net.id, tags=["born", "with"])
    assert sorted(port.tags) == ["born", "with"]
    assert _tags(conn, port) == ["born", "with"]


def test_network_post_refuses_tags(conn):
    # networks' tags attribute has allow_post=False in Neutron: tags are set
    # through /tags only, and a POST body carrying them is a 400.
    name = uniq("tagc")
    with pytest.raises(exceptions.BadRequestException):
        raw(conn.network, "POST", "/networks",
            json={"network": {"name": name, "tags": ["born"]}})
    leftovers = list(conn.network.networks(name=name))
    for n in leftovers:
        conn.network.delete_network(n)
    assert leftovers == []


def test_tag_filters(conn, mk):
    t = uniq("tf")
    red, blue, green = t + "-red", t + "-blue", t + "-green"
    n_rb = mk.network(name=t + "-rb")
    n_r = mk.network(name=t + "-r")
    n_bg = mk.network(name=t + "-bg")
    n_none = mk.network(name=t + "-none")
    conn.network.set_tags(n_rb, [red, blue])
    conn.network.set_tags(n_r, [red])
    conn.network.set_tags(n_bg, [blue, green])
    mine = {n.id: n.name for n in (n_rb, n_r, n_bg, n_none)}

    def names(**query):
        return sorted(mine[n.id] for n in conn.network.networks(**query) if n.id in mine)

    assert names(tags=red) == [t + "-r", t + "-rb"]
    assert names(tags=f"{red},{blue}") == [t + "-rb"]  # all of them
    assert names(any_tags=f"{red},{green}") == [t + "-bg", t + "-r", t + "-rb"]
    assert names(not_tags=f"{red},{blue}") == [t + "-bg", t + "-none", t + "-r"]
    assert names(not_any_tags=f"{red},{green}") == [t + "-none"]
    # filters combine with AND
    assert names(tags=blue, not_tags=green) == [t + "-rb"]
    assert names(tags=red, name=t + "-r") == [t + "-r"]
