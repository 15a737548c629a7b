"""Listing: pagination, sorting, filters and field selection (intro.inc)."""

import urllib.parse

import pytest

from openstack import exceptions

from conftest import raw, uniq


@pytest.fixture
def five_networks(conn, mk):
    """Five networks sharing a unique tag, named <tag>-0 .. <tag>-4, created
    in shuffled name order."""
    tag = uniq("page")
    nets = []
    for i in (3, 0, 4, 1, 2):
        nets.append(mk.network(name=f"{tag}-{i}", set_tags=[tag]))
    return tag, nets


def _links(body, key="networks_links"):
    return {link["rel"]: link["href"] for link in body.get(key, [])}


def test_sdk_pagination_walks_every_page_once(conn, five_networks):
    tag, nets = five_networks
    got = list(conn.network.networks(tags=tag, limit=2, paginated=True))
    ids = [n.id for n in got]
    assert len(ids) == 5
    assert sorted(ids) == sorted(n.id for n in nets)


def test_sdk_pagination_with_sort(conn, five_networks):
    tag, _nets = five_networks
    got = list(conn.network.networks(tags=tag, limit=2, sort_key="name",
                                     sort_dir="desc"))
    assert [n.name for n in got] == [f"{tag}-{i}" for i in (4, 3, 2, 1, 0)]


def test_raw_pages_and_links(conn, five_networks):
    tag, _nets = five_networks
    first = raw(conn.network, "GET", "/networks",
                params={"tags": tag, "limit": 2, "sort_key": "name",
                        "sort_dir": "asc"}).json()
    assert [n["name"] for n in first["networks"]] == [f"{tag}-0", f"{tag}-1"]
    links = _links(first)
    assert "next" in links
    q = urllib.parse.parse_qs(urllib.parse.urlparse(links["next"]).query)
    assert q["marker"] == [first["networks"][-1]["id"]]
    assert q["limit"] == ["2"]

    second = raw(conn.network, "GET", links["next"]).json()
    assert [n["name"] for n in second["networks"]] == [f"{tag}-2", f"{tag}-3"]
    assert {"next", "previous"} <= set(_links(second))

    third = raw(conn.network, "GET", _links(second)["next"]).json()
    assert [n["name"] for n in third["networks"]] == [f"{tag}-4"]
    assert "next" not in _links(third)  # the last page has no next link
    assert "previous" in _links(third)

    back = raw(conn.network, "GET", _links(third)["previous"]).json()
    assert [n["name"] for n in back["networks"]] == [f"{tag}-2", f"{tag}-3"]


def test_page_reverse(conn, five_networks):
    tag, nets = five_networks
    by_name = {n.name: n for n in nets}
    body = raw(conn.network, "GET", "/networks", params={
        "tags": tag, "limit": 2, "sort_key": "name", "sort_dir": "asc",
        "marker": by_name[f"{tag}-3"].id, "page_reverse": "True"}).json()
    # the two items before the marker, still in ascending order
    assert [n["name"] for n in body["networks"]] == [f"{tag}-1", f"{tag}-2"]


def test_marker_not_found_is_404(conn):
    with pytest.raises(exceptions.NotFoundException):
        raw(conn.network, "GET", "/networks",
            params={"limit": 2, "marker": "6a7f0000-0000-4000-8000-00000000dead"})


def test_sorting_both_directions_and_two_keys(conn, mk):
    tag = uniq("sort")
    a = mk.network(name=f"{tag}-a", set_tags=[tag], is_admin_state_up=False)
    b = mk.network(name=f"{tag}-b", set_tags=[tag])
    c = mk.network(name=f"{tag}-c", set_tags=[tag], is_admin_state_up=False)
    asc = [n.name for n in conn.network.networks(tags=tag, sort_key="name", sort_dir="asc")]
    desc = [n.name for n in conn.network.networks(tags=tag, sort_key="name", sort_dir="desc")]
    assert asc == [a.name, b.name, c.name]
    assert desc == [c.name, b.name, a.name]
    two = raw(conn.network, "GET", "/networks", params=[
        ("tags", tag), ("sort_key", "admin_state_up"), ("sort_dir", "asc"),
        ("sort_key", "name"), ("sort_dir", "desc")]).json()["networks"]
    assert [n["name"] for n in two] == [c.name, a.name, b.name]


@pytest.mark.parametrize("params", [
    {"sort_key": "no_such_attribute"},
    {"sort_key": "name", "sort_dir": "sideways"},
    {"limit": "many"},
], ids=["bad-sort-key", "bad-sort-dir", "bad-limit"])
def test_bad_sort_or_limit_is_400(conn, params):
    with pytest.raises(exceptions.BadRequestException):
        raw(conn.network, "GET", "/networks", params=params)


def test_filter_by_name_and_multiple_values(conn, mk):
    t = uniq("flt")
    n1 = mk.network(name=t + "-1")
    n2 = mk.network(name=t + "-2")
    mk.network(name=t + "-3")
    assert [n.id for n in conn.network.networks(name=t + "-1")] == [n1.id]
    both = raw(conn.network, "GET", "/networks",
               params={"name": [t + "-1", t + "-2"]}).json()["networks"]
    assert sorted(n["id"] for n in both) == sorted([n1.id, n2.id])
    ids = raw(conn.network, "GET", "/networks",
              params={"id": [n1.id, n2.id]}).json()["networks"]
    assert sorted(n["id"] for n in ids) == sorted([n1.id, n2.id])
    assert list(conn.network.networks(name=t + "-nope")) == []


def test_filter_boolean_and_and(conn, mk):
    t = uniq("fb")
    up = mk.network(name=t, set_tags=[t])
    down = mk.network(name=t, set_tags=[t], is_admin_state_up=False)
    got = [n.id for n in conn.network.networks(tags=t, is_admin_state_up=False)]
    assert got == [down.id]
    got = [n.id for n in conn.network.networks(name=t, is_admin_state_up=True)]
    assert got == [up.id]


def test_port_filters_fixed_ips_and_others(conn, mk, net_v4):
    net, sub = net_v4
    p1 = mk.port(network_id=net.id, fixed_ips=[{"ip_address": "10.20.0.101"}],
                 device_id="dev-1", mac_address="fa:16:3e:10:10:01")
    p2 = mk.port(network_id=net.id, fixed_ips=[{"ip_address": "10.20.0.102"}])

    def ids(**query):
        return sorted(p.id for p in conn.network.ports(**query))

    assert ids(fixed_ips=["ip_address=10.20.0.101"]) == [p1.id]
    assert ids(network_id=net.id, fixed_ips=[f"subnet_id={sub.id}"]) == sorted([p1.id, p2.id])
    assert ids(fixed_ips=[f"subnet_id={sub.id}", "ip_address=10.20.0.102"]) == [p2.id]
    assert ids(network_id=net.id, fixed_ips=["ip_address_substr=0.10"]) == sorted([p1.id, p2.id])
    assert ids(network_id=net.id, fixed_ips=["ip_address_substr=.102"]) == [p2.id]
    assert ids(network_id=net.id, device_id="dev-1") == [p1.id]
    assert ids(network_id=net.id, mac_address="fa:16:3e:10:10:01") == [p1.id]
    # empty-string filtering: ports with no device_id
    empty = raw(conn.network, "GET", "/ports",
                params={"network_id": net.id, "device_id": ""}).json()["ports"]
    assert [p["id"] for p in empty] == [p2.id]


def test_subnet_filters(conn, mk):
    net = mk.network(name=uniq("sf"))
    s4 = mk.subnet(network_id=net.id, cidr="10.44.0.0/24")
    s6 = mk.subnet(network_id=net.id, ip_version=6, cidr="2001:db8:44::/64")
    assert [s.id for s in conn.network.subnets(network_id=net.id, ip_version=6)] == [s6.id]
    assert [s.id for s in conn.network.subnets(cidr="10.44.0.0/24")] == [s4.id]


def test_fields_selection_on_list_and_show(conn, mk):
    net = mk.network(name=uniq("fld"))
    body = raw(conn.network, "GET", "/networks", params=[
        ("id", net.id), ("fields", "id"), ("fields", "name")]).json()
    assert body["networks"] == [{"id": net.id, "name": net.name}]
    shown = raw(conn.network, "GET", f"/networks/{net.id}",
                params={"fields": "status"}).json()
    assert shown == {"network": {"status": "ACTIVE"}}
    # through the SDK: the resources carry only the selected fields
    [n] = list(conn.network.networks(id=net.id, fields=["id", "name"]))
    assert (n.id, n.name, n.status, n.mtu) == (net.id, net.name, None, None)


def test_unknown_filter_is_400(conn):
    with pytest.raises(exceptions.BadRequestException):
        raw(conn.network, "GET", "/networks", params={"no_such_filter": "x"})
    with pytest.raises(exceptions.BadRequestException):
        raw(conn.network, "GET", "/ports", params={"flavor": "x"})


def test_json_suffix(conn, mk):
    net = mk.network(name=uniq("json"))
    body = raw(conn.network, "GET", f"/networks/{net.id}.json").json()
    assert body["network"]["id"] == net.id
    lst = raw(conn.network, "GET", "/networks.json", params={"id": net.id}).json()
    assert [n["id"] for n in lst["networks"]] == [net.id]


def test_sort_key_without_sort_dir_is_400(conn):
    with pytest.raises(exceptions.BadRequestException):
        raw(conn.network, "GET", "/networks", params={"sort_key": "name"})


def test_sort_dir_without_sort_key_is_400(conn):
    with pytest.raises(exceptions.BadRequestException):
        raw(conn.network, "GET", "/networks", params={"sort_dir": "asc"})


def test_first_page_has_previous_link_like_the_api_ref(conn, five_networks):
    tag, _nets = five_networks
    first = raw(conn.network, "GET", "/networks",
                params={"tags": tag, "limit": 2, "sort_key": "name",
                        "sort_dir": "asc"}).json()
    links = _links(first)
    assert set(links) == {"next", "previous"}
    q = urllib.parse.parse_qs(urllib.parse.urlparse(links["previous"]).query)
    assert q["marker"] == [first["networks"][0]["id"]]
    assert q["page_reverse"] == ["True"]
