"""Quotas through openstacksdk's network proxy: show, details, update, reset,
and the OverQuota conflict when a project reaches its limit."""

import uuid

import pytest
from openstack import exceptions


def test_quota_show_update_details_and_reset(conn):
    project = "quota-" + uuid.uuid4().hex[:8]
    q = conn.network.get_quota(project)
    assert (q.networks, q.subnets, q.ports) == (100, 100, 500)  # Neutron's defaults
    q = conn.network.update_quota(project, networks=1, ports=7)
    assert (q.networks, q.ports) == (1, 7)
    assert conn.network.get_quota(project).networks == 1
    details = conn.network.get_quota(project, details=True)
    assert details.networks == {"limit": 1, "used": 0, "reserved": 0}
    defaults = conn.network.get_quota_default(project)
    assert defaults.networks == 100
    conn.network.delete_quota(project)
    assert conn.network.get_quota(project).networks == 100


def test_over_quota_is_409_and_creates_nothing(conn, member_conn):
    project = "quota-" + uuid.uuid4().hex[:8]
    conn.network.update_quota(project, networks=1)
    tenant = member_conn(project)
    net = tenant.network.create_network(name="first")
    with pytest.raises(exceptions.ConflictException) as err:
        tenant.network.create_network(name="second")
    assert "Quota exceeded for resources: ['network']" in str(err.value)
    assert [n.id for n in tenant.network.networks()] == [net.id]
    tenant.network.delete_network(net)
    conn.network.delete_quota(project)
