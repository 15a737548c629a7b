"""RBAC policies through openstacksdk: share a network with one project."""

import uuid

import pytest
from openstack import exceptions


def test_share_a_network_with_one_project(conn, member_conn):
    owner_id, guest_id = "own-" + uuid.uuid4().hex[:8], "gst-" + uuid.uuid4().hex[:8]
    owner, guest = member_conn(owner_id), member_conn(guest_id)
    net = owner.network.create_network(name="to-share")
    owner.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.77.0.0/24")
    with pytest.raises(exceptions.NotFoundException):
        guest.network.get_network(net.id)
    policy = owner.network.create_rbac_policy(
        object_type="network", object_id=net.id, target_project_id=guest_id, action="access_as_shared")
    assert policy.target_project_id == guest_id
    seen = guest.network.get_network(net.id)
    assert seen.is_shared is True
    port = guest.network.create_port(network_id=net.id)
    assert port.fixed_ips[0]["ip_address"].startswith("10.77.0.")
    with pytest.raises(exceptions.ConflictException):
        owner.network.delete_rbac_policy(policy)
    guest.network.delete_port(port)
    owner.network.delete_rbac_policy(policy)
    with pytest.raises(exceptions.NotFoundException):
        guest.network.get_network(net.id)
    assert [p.id for p in owner.network.rbac_policies(object_id=net.id)] == []
    owner.network.delete_network(net)
