"""Project isolation under Neutron's default policies (noauth roles/project
headers stand in for a Keystone token)."""

import pytest

from openstack import exceptions

from conftest import raw, uniq


@pytest.fixture
def two_projects(conn, mk, member_conn):
    """Project A owns a private and a shared network (created by an admin on
    A's behalf); B is a plain member connection."""
    proj_a, proj_b = uniq("projA"), uniq("projB")
    private = mk.network(name=uniq("a-private"), project_id=proj_a)
    sub = mk.subnet(network_id=private.id, cidr="10.50.0.0/24", project_id=proj_a)
    shared = mk.network(name=uniq("a-shared"), project_id=proj_a, is_shared=True)
    shared_sub = mk.subnet(network_id=shared.id, cidr="10.51.0.0/24", project_id=proj_a)
    return {
        "a": proj_a, "b": proj_b, "private": private, "private_sub": sub,
        "shared": shared, "shared_sub": shared_sub, "member_b": member_conn(proj_b),
        "member_a": member_conn(proj_a), "member_c": member_conn(uniq("projC")),
    }


def test_admin_creates_on_behalf_of_a_project(two_projects):
    assert two_projects["private"].project_id == two_projects["a"]
    assert two_projects["private_sub"].project_id == two_projects["a"]


def test_member_does_not_see_other_projects_network(two_projects):
    b = two_projects["member_b"]
    private = two_projects["private"]
    ids = {n.id for n in b.network.networks()}
    assert private.id not in ids
    assert two_projects["shared"].id in ids
    with pytest.raises(exceptions.NotFoundException):
        b.network.get_network(private.id)
    assert b.network.find_network(private.name) is None
    with pytest.raises(exceptions.NotFoundException):
        b.network.get_subnet(two_projects["private_sub"].id)
    assert two_projects["private_sub"].id not in {s.id for s in b.network.subnets()}


def test_member_cannot_modify_other_projects_network(conn, two_projects):
    b = two_projects["member_b"]
    private = two_projects["private"]
    with pytest.raises(exceptions.NotFoundException):
        b.network.update_network(private.id, name="hijacked")
    with pytest.raises(exceptions.NotFoundException):
        b.network.delete_network(private.id, ignore_missing=False)
    assert conn.network.get_network(private.id).name == private.name


def test_member_cannot_create_port_on_other_projects_private_network(mk, two_projects):
    b = two_projects["member_b"]
    with pytest.raises(exceptions.NotFoundException):
        mk.port(c=b, network_id=two_projects["private"].id)


def test_member_sees_and_uses_shared_network(conn, mk, two_projects):
    b = two_projects["member_b"]
    shared = two_projects["shared"]
    got = b.network.get_network(shared.id)
    assert got.is_shared is True
    assert got.project_id == two_projects["a"]
    assert b.network.get_subnet(two_projects["shared_sub"].id).cidr == "10.51.0.0/24"
    port = mk.port(c=b, network_id=shared.id)
    assert port.project_id == two_projects["b"]
    assert port.fixed_ips[0]["subnet_id"] == two_projects["shared_sub"].id
    # the network's owner sees ports on its network, whoever owns them
    a = two_projects["member_a"]
    assert port.id in {p.id for p in a.network.ports(network_id=shared.id)}
    # a third project sees neither the port nor ports it does not own
    c = two_projects["member_c"]
    assert port.id not in {p.id for p in c.network.ports(network_id=shared.id)}
    assert port.id in {p.id for p in conn.network.ports(network_id=shared.id)}


def test_member_may_not_modify_a_shared_network_it_does_not_own(conn, two_projects):
    # Visible but not owned: Neutron answers 403, not 404.
    b = two_projects["member_b"]
    shared = two_projects["shared"]
    with pytest.raises(exceptions.ForbiddenException):
        b.network.update_network(shared.id, name="hijacked")
    with pytest.raises(exceptions.ForbiddenException):
        b.network.delete_network(shared.id, ignore_missing=False)
    assert conn.network.get_network(shared.id).name == shared.name


def test_member_sees_external_networks(mk, two_projects):
    ext = mk.network(name=uniq("ext"), project_id=two_projects["a"],
                     is_router_external=True)
    b = two_projects["member_b"]
    assert ext.id in {n.id for n in b.network.networks()}
    assert b.network.get_network(ext.id).is_router_external is True


def test_members_own_network_is_invisible_to_others(mk, member_conn, two_projects):
    b = two_projects["member_b"]
    mine = mk.network(c=b, name=uniq("b-own"))
    assert mine.project_id == two_projects["b"]
    a = two_projects["member_a"]
    with pytest.raises(exceptions.NotFoundException):
        a.network.get_network(mine.id)
    assert mine.id in {n.id for n in b.network.networks()}
    # a member can update and delete what it owns
    assert b.network.update_network(mine, name="renamed").name == "renamed"


def test_member_cannot_create_for_another_project(mk, two_projects):
    # neutron-lib's attribute checks answer 400 ("Specifying 'project_id' or
    # 'tenant_id' other than the authenticated project in request requires
    # admin or advsvc privileges") before policy is consulted.
    b = two_projects["member_b"]
    with pytest.raises(exceptions.BadRequestException):
        mk.network(c=b, name=uniq("spoof"), project_id=two_projects["a"])


def test_member_cannot_create_shared_or_provider_networks(mk, two_projects):
    b = two_projects["member_b"]
    with pytest.raises(exceptions.ForbiddenException):
        mk.network(c=b, name=uniq("sh"), is_shared=True)
    with pytest.raises(exceptions.ForbiddenException):
        mk.network(c=b, name=uniq("pv"), provider_network_type="vlan",
                   provider_physical_network="physnet1")
    with pytest.raises(exceptions.ForbiddenException):
        mk.network(c=b, name=uniq("ex"), is_router_external=True)


def test_member_does_not_see_provider_attributes(mk, two_projects):
    # Neutron's default policy shows provider:* to admins only.
    b = two_projects["member_b"]
    mine = mk.network(c=b, name=uniq("b-prov"))
    body = raw(b.network, "GET", f"/networks/{mine.id}").json()["network"]
    for attr in ("provider:network_type", "provider:physical_network",
                 "provider:segmentation_id"):
        assert attr not in body


def test_admin_lists_by_project(conn, two_projects):
    ids = {n.id for n in conn.network.networks(project_id=two_projects["a"])}
    assert ids == {two_projects["private"].id, two_projects["shared"].id}


def test_member_on_shared_network_may_pick_the_subnet(mk, two_projects):
    # default policy: create_port:fixed_ips:subnet_id allows "rule:shared"
    b = two_projects["member_b"]
    shared, shared_sub = two_projects["shared"], two_projects["shared_sub"]
    ok = mk.port(c=b, network_id=shared.id, fixed_ips=[{"subnet_id": shared_sub.id}])
    assert ok.fixed_ips[0]["subnet_id"] == shared_sub.id


# Neutron's default policies create_port:fixed_ips:ip_address,
# create_port:mac_address and create_port:port_security_enabled allow only
# the network owner, an admin or advsvc: a member using someone else's shared
# network gets 403 PolicyNotAuthorized for each.


def test_member_on_shared_network_may_not_pick_the_address(mk, two_projects):
    b = two_projects["member_b"]
    shared, shared_sub = two_projects["shared"], two_projects["shared_sub"]
    with pytest.raises(exceptions.ForbiddenException):
        mk.port(c=b, network_id=shared.id,
                fixed_ips=[{"subnet_id": shared_sub.id, "ip_address": "10.51.0.77"}])


def test_member_on_shared_network_may_not_pick_the_mac(mk, two_projects):
    b = two_projects["member_b"]
    with pytest.raises(exceptions.ForbiddenException):
        mk.port(c=b, network_id=two_projects["shared"].id,
                mac_address="fa:16:3e:77:77:77")


def test_member_on_shared_network_may_not_disable_port_security(mk, two_projects):
    b = two_projects["member_b"]
    with pytest.raises(exceptions.ForbiddenException):
        mk.port(c=b, network_id=two_projects["shared"].id,
                is_port_security_enabled=False)


def test_member_may_not_add_a_subnet_to_a_shared_network(mk, two_projects):
    b = two_projects["member_b"]
    with pytest.raises(exceptions.ForbiddenException):
        mk.subnet(c=b, network_id=two_projects["shared"].id, cidr="10.52.0.0/24")


def test_member_does_not_see_other_projects_ports(mk, two_projects):
    port = mk.port(network_id=two_projects["private"].id)
    b = two_projects["member_b"]
    assert port.id not in {p.id for p in b.network.ports()}
    with pytest.raises(exceptions.NotFoundException):
        b.network.get_port(port.id)
    with pytest.raises(exceptions.NotFoundException):
        b.network.update_port(port.id, name="x")


def test_unsharing_a_network_other_projects_use_is_409(conn, mk, two_projects):
    b = two_projects["member_b"]
    shared = two_projects["shared"]
    mk.port(c=b, network_id=shared.id)
    with pytest.raises(exceptions.ConflictException):
        conn.network.update_network(shared.id, is_shared=False)
    assert conn.network.get_network(shared.id).is_shared is True


def test_unsharing_a_network_only_its_owner_uses_is_fine(conn, mk, two_projects):
    shared = two_projects["shared"]
    mk.port(network_id=shared.id, project_id=two_projects["a"])
    assert conn.network.update_network(shared.id, is_shared=False).is_shared is False


def test_member_tagging_other_projects_network_is_404(conn, two_projects):
    # Deliberate difference: Neutron's tagging controller finds the parent
    # with an elevated context and answers 403; Neutrino answers 404, as for
    # any other call on a resource the caller cannot see, so that a project
    # cannot probe for the existence of another project's networks.
    b = two_projects["member_b"]
    private = two_projects["private"]
    with pytest.raises(exceptions.NotFoundException):
        b.network.set_tags(private, ["mine"])
    assert conn.network.get_tags(private) == []
