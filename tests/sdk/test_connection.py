"""How openstacksdk reaches Neutrino without Keystone, and API discovery."""

import openstack

from conftest import admin_connection, project_connection, raw, uniq


def test_network_endpoint_override_discovers_v2(neutrino, conn):
    # keystoneauth discovers v2.0 from GET / and appends it.
    assert conn.network.get_endpoint().rstrip("/") == neutrino.api
    assert isinstance(list(conn.network.networks()), list)


def test_noauth_plugin_endpoint_works_too(neutrino):
    c = openstack.connection.Connection(
        auth_type="none", auth={"endpoint": neutrino.root}
    )
    try:
        assert c.network.get_endpoint().rstrip("/") == neutrino.api
        name = uniq("ep")
        net = c.network.create_network(name=name)
        try:
            assert c.network.find_network(name).id == net.id
        finally:
            c.network.delete_network(net)
    finally:
        c.close()


def test_version_document(neutrino, conn):
    body = raw(conn.network, "GET", neutrino.root + "/").json()
    versions = body["versions"]
    assert [v["id"] for v in versions] == ["v2.0"]
    assert versions[0]["status"] == "CURRENT"
    hrefs = [link["href"] for link in versions[0]["links"] if link["rel"] == "self"]
    # Neutron builds the link from the request's host URL.
    assert hrefs and hrefs[0].rstrip("/") == neutrino.api


def test_v2_root_lists_core_resources(conn):
    body = raw(conn.network, "GET", "/").json()
    collections = {r["collection"] for r in body["resources"]}
    assert {"networks", "subnets", "ports"} <= collections


def test_extensions_listed_and_found_by_alias(conn):
    aliases = {e.alias for e in conn.network.extensions()}
    for alias in ("provider", "external-net", "allowed-address-pairs",
                  "extra_dhcp_opt", "standard-attr-tag", "pagination", "sorting",
                  "revision-if-match", "port-security", "binding"):
        assert alias in aliases, alias
    ext = conn.network.find_extension("provider")
    assert ext.alias == "provider"
    assert ext.name
    assert conn.network.find_extension("no-such-extension") is None


def test_unknown_extension_is_404(conn):
    try:
        raw(conn.network, "GET", "/extensions/no-such-extension")
    except openstack.exceptions.NotFoundException:
        return
    raise AssertionError("GET /v2.0/extensions/no-such-extension did not 404")


def test_member_connection_acts_in_its_project(neutrino, mk):
    project = uniq("proj")
    member = project_connection(neutrino.root, project)
    try:
        net = mk.network(c=member, name=uniq("mine"))
        assert net.project_id == project
        body = raw(member.network, "GET", f"/networks/{net.id}").json()["network"]
        assert body["project_id"] == body["tenant_id"] == project
        # The admin connection is unaffected by the member's headers.
        admin = admin_connection(neutrino.root)
        assert admin.network.get_network(net.id).project_id == project
        admin.close()
    finally:
        member.close()
