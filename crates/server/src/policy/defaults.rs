//! Neutron's default policy rules, as `oslopolicy-sample-generator --namespace neutron`
//! prints them with `enforce_new_defaults = True` (the admin, manager, member and reader
//! personas in project scope).
//!
//! The check strings are the ones in Neutron's `neutron/conf/policies/{base,network,subnet,
//! port,rbac,quotas}.py` (master of 2026-08, neutron-lib policy strings expanded), so an
//! operator's `policy.yaml` written against Neutron's sample overrides them name for name.
//! Deprecated rule names (`create_networks_tags`, …) and the legacy check strings that oslo.policy
//! ORs in when `enforce_new_defaults` is off are not carried.

/// `(rule name, check string)`, in the order of Neutron's sources.
pub(crate) const DEFAULT_RULES: &[(&str, &str)] = &[
    // Base rules (base.py): personas, ownership and the fallback `default`.
    // `admin_only` is neutron-lib's ADMIN; `role:member and project_id:%(project_id)s` its PROJECT_MEMBER,
    // `role:reader and ...` its PROJECT_READER, `rule:service_api` its SERVICE.
    ("context_is_admin", "role:admin"),
    ("context_with_global_access", "!"),
    ("service_api", "role:service"),
    ("owner", "project_id:%(project_id)s"),
    ("admin_or_owner", "rule:context_is_admin or rule:owner"),
    ("context_is_advsvc", "role:advsvc"),
    ("admin_or_network_owner", "rule:context_is_admin or project_id:%(network:project_id)s"),
    ("admin_owner_or_network_owner", "rule:owner or rule:admin_or_network_owner"),
    ("network_owner", "project_id:%(network:project_id)s"),
    ("admin_only", "rule:context_is_admin"),
    ("regular_user", ""),
    ("shared", "field:networks:shared=True"),
    ("default", "rule:admin_or_owner"),
    ("admin_or_ext_parent_owner", "rule:context_is_admin or project_id:%(ext_parent:project_id)s"),
    ("ext_parent_owner", "project_id:%(ext_parent:project_id)s"),
    ("sg_owner", "project_id:%(security_group:project_id)s"),

    // Networks (network.py).
    ("external", "field:networks:router:external=True"),
    ("create_network", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("create_network:shared", "rule:admin_only"),
    ("create_network:router:external", "rule:admin_only"),
    ("create_network:is_default", "rule:admin_only"),
    ("create_network:port_security_enabled", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("create_network:segments", "rule:admin_only"),
    ("create_network:provider:network_type", "rule:admin_only"),
    ("create_network:provider:physical_network", "rule:admin_only"),
    ("create_network:provider:segmentation_id", "rule:admin_only"),
    ("create_network:tags", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),

    ("get_network", "(rule:admin_only) or (role:reader and project_id:%(project_id)s) or rule:service_api or rule:shared or rule:external or rule:context_is_advsvc"),
    ("get_network:segments", "rule:admin_only"),
    ("get_network:provider:network_type", "rule:admin_only"),
    ("get_network:provider:physical_network", "rule:admin_only"),
    ("get_network:provider:segmentation_id", "rule:admin_only"),
    ("get_network:tags", "(rule:admin_only) or (role:reader and project_id:%(project_id)s) or rule:shared or rule:external or rule:context_is_advsvc"),

    ("update_network", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("update_network:segments", "rule:admin_only"),
    ("update_network:shared", "rule:admin_only"),
    ("update_network:provider:network_type", "rule:admin_only"),
    ("update_network:provider:physical_network", "rule:admin_only"),
    ("update_network:provider:segmentation_id", "rule:admin_only"),
    ("update_network:router:external", "rule:admin_only"),
    ("update_network:is_default", "rule:admin_only"),
    ("update_network:port_security_enabled", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("update_network:tags", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),

    ("delete_network", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("delete_network:tags", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),

    // Subnets (subnet.py): a network owner may add subnets to its network; shared and external
    // networks' subnets are readable by everyone.
    ("external_network", "field:subnets:router:external=True"),
    ("create_subnet", "(rule:admin_only) or (role:member and rule:network_owner)"),
    ("create_subnet:segment_id", "rule:admin_only"),
    ("create_subnet:service_types", "rule:admin_only"),
    ("create_subnet:tags", "role:member and project_id:%(project_id)s or (rule:admin_only) or (role:member and rule:network_owner)"),

    ("get_subnet", "role:reader and project_id:%(project_id)s or rule:shared or rule:external_network or (rule:admin_only) or (role:reader and rule:network_owner) or rule:service_api"),
    ("get_subnet:segment_id", "rule:admin_only"),
    ("get_subnet:tags", "role:reader and project_id:%(project_id)s or rule:shared or rule:external_network or (rule:admin_only) or (role:reader and rule:network_owner)"),

    ("update_subnet", "role:member and project_id:%(project_id)s or (rule:admin_only) or (role:member and rule:network_owner)"),
    ("update_subnet:segment_id", "rule:admin_only"),
    ("update_subnet:service_types", "rule:admin_only"),
    ("update_subnet:tags", "role:member and project_id:%(project_id)s or (rule:admin_only) or (role:member and rule:network_owner)"),

    ("delete_subnet", "role:member and project_id:%(project_id)s or (rule:admin_only) or (role:member and rule:network_owner)"),
    ("delete_subnet:tags", "role:member and project_id:%(project_id)s or (rule:admin_only) or (role:member and rule:network_owner)"),

    // Ports (port.py): `network_device` marks ports owned by Neutron itself (`network:*`).
    ("network_device", "field:port:device_owner=~^network:"),
    ("admin_or_data_plane_int", "rule:context_is_admin or role:data_plane_integrator"),
    ("create_port", "(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner or rule:shared"),
    ("create_port:device_id", "(rule:admin_only) or (role:member and project_id:%(project_id)s) or rule:service_api"),
    ("create_port:device_owner", "not rule:network_device or (rule:admin_only) or (rule:service_api) or role:member and rule:network_owner"),
    ("create_port:mac_address", "(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner"),
    ("create_port:fixed_ips", "(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner or rule:shared"),
    ("create_port:fixed_ips:ip_address", "(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner"),
    ("create_port:fixed_ips:subnet_id", "(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner or rule:shared"),
    ("create_port:port_security_enabled", "(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner"),
    ("create_port:binding:host_id", "(rule:admin_only) or (rule:service_api)"),
    ("create_port:binding:profile", "rule:service_api"),
    ("create_port:binding:vnic_type", "(rule:admin_only) or (role:member and project_id:%(project_id)s) or rule:service_api"),
    ("create_port:allowed_address_pairs", "(rule:admin_only) or (role:member and rule:network_owner) or rule:service_api"),
    ("create_port:allowed_address_pairs:mac_address", "(rule:admin_only) or (role:member and rule:network_owner) or rule:service_api"),
    ("create_port:allowed_address_pairs:ip_address", "(rule:admin_only) or (role:member and rule:network_owner) or rule:service_api"),
    ("create_port:hints", "rule:admin_only"),
    ("create_port:trusted", "rule:admin_only"),
    ("create_port:tags", "(rule:admin_only) or (role:member and project_id:%(project_id)s) or rule:context_is_advsvc"),

    ("get_port", "(rule:admin_only) or (rule:service_api) or role:reader and rule:network_owner or role:reader and project_id:%(project_id)s"),
    ("get_port:binding:vif_type", "(rule:admin_only) or (rule:service_api)"),
    ("get_port:binding:vif_details", "(rule:admin_only) or (rule:service_api)"),
    ("get_port:binding:host_id", "(rule:admin_only) or (rule:service_api)"),
    ("get_port:binding:profile", "(rule:admin_only) or (rule:service_api)"),
    ("get_port:resource_request", "rule:admin_only"),
    ("get_port:hints", "rule:admin_only"),
    ("get_port:trusted", "rule:admin_only"),
    ("get_port:tags", "rule:context_is_advsvc or (rule:admin_only) or (role:reader and rule:network_owner) or role:reader and project_id:%(project_id)s"),

    ("update_port", "(rule:admin_only) or (rule:service_api) or role:member and project_id:%(project_id)s"),
    ("update_port:device_id", "(rule:admin_only) or (role:member and project_id:%(project_id)s) or rule:service_api"),
    ("update_port:device_owner", "not rule:network_device or (rule:admin_only) or (rule:service_api) or role:member and rule:network_owner"),
    ("update_port:mac_address", "(rule:admin_only) or (rule:service_api) or role:manager and rule:network_owner"),
    ("update_port:fixed_ips", "(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner"),
    ("update_port:fixed_ips:ip_address", "(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner"),
    ("update_port:fixed_ips:subnet_id", "(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner or rule:shared"),
    ("update_port:port_security_enabled", "(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner"),
    ("update_port:binding:host_id", "(rule:admin_only) or (rule:service_api)"),
    ("update_port:binding:profile", "rule:service_api"),
    ("update_port:binding:vnic_type", "(rule:admin_only) or (rule:service_api) or role:member and project_id:%(project_id)s"),
    ("update_port:allowed_address_pairs", "(rule:admin_only) or (role:member and rule:network_owner) or rule:service_api"),
    ("update_port:allowed_address_pairs:mac_address", "(rule:admin_only) or (role:member and rule:network_owner) or rule:service_api"),
    ("update_port:allowed_address_pairs:ip_address", "(rule:admin_only) or (role:member and rule:network_owner) or rule:service_api"),
    ("update_port:data_plane_status", "rule:admin_only or role:data_plane_integrator"),
    ("update_port:hints", "rule:admin_only"),
    ("update_port:trusted", "rule:admin_only"),
    ("update_port:tags", "(rule:admin_only) or (role:member and project_id:%(project_id)s) or rule:context_is_advsvc"),

    ("delete_port", "(rule:admin_only) or (rule:service_api) or role:member and rule:network_owner or role:member and project_id:%(project_id)s"),
    ("delete_port:tags", "rule:context_is_advsvc or role:member and project_id:%(project_id)s or (rule:admin_only) or (role:member and rule:network_owner)"),

    // RBAC policies (rbac.py): only an admin may share with every project (`*`).
    ("restrict_wildcard", "(not field:rbac_policy:target_tenant=* and not field:rbac_policy:target_project=*) or rule:admin_only"),
    ("create_rbac_policy", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("create_rbac_policy:target_tenant", "rule:admin_only or (not field:rbac_policy:target_tenant=* and not field:rbac_policy:target_project=*)"),
    ("create_rbac_policy:target_project", "rule:admin_only or not field:rbac_policy:target_project=*"),
    ("update_rbac_policy", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("update_rbac_policy:target_tenant", "rule:admin_only or (not field:rbac_policy:target_tenant=* and not field:rbac_policy:target_project=*)"),
    ("update_rbac_policy:target_project", "rule:admin_only or not field:rbac_policy:target_project=*"),
    ("get_rbac_policy", "(rule:admin_only) or (role:reader and project_id:%(project_id)s)"),
    ("delete_rbac_policy", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),

    // Agents (agent.py): administrators only.
    ("get_agent", "rule:admin_only"),
    ("update_agent", "rule:admin_only"),
    ("delete_agent", "rule:admin_only"),

    // L3 agent scheduling (l3_agent.py... agent.py): administrators only.
    ("add_router_to_l3_agent", "rule:admin_only"),
    ("remove_router_from_l3_agent", "rule:admin_only"),
    ("get_l3-routers", "rule:admin_only"),
    ("get_l3-agents", "rule:admin_only"),

    // Routers (router.py): a project member builds its routers; SNAT switches,
    // chosen gateway addresses, DVR and HA are the admin's.
    ("create_router", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("create_router:distributed", "rule:admin_only"),
    ("create_router:ha", "rule:admin_only"),
    ("create_router:external_gateway_info", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("create_router:external_gateway_info:network_id", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("create_router:external_gateway_info:enable_snat", "rule:admin_only"),
    ("create_router:external_gateway_info:external_fixed_ips", "rule:admin_only"),
    ("create_router:tags", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("get_router", "(rule:admin_only) or (role:reader and project_id:%(project_id)s)"),
    ("get_router:distributed", "rule:admin_only"),
    ("get_router:ha", "rule:admin_only"),
    ("update_router", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("update_router:distributed", "rule:admin_only"),
    ("update_router:ha", "rule:admin_only"),
    ("update_router:external_gateway_info", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("update_router:external_gateway_info:network_id", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("update_router:external_gateway_info:enable_snat", "rule:admin_only"),
    ("update_router:external_gateway_info:external_fixed_ips", "rule:admin_only"),
    ("delete_router", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("add_router_interface", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("remove_router_interface", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("add_extraroutes", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("remove_extraroutes", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),

    // Floating IPs (floatingip.py): choosing the address is the admin's.
    ("create_floatingip", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("create_floatingip:floating_ip_address", "rule:admin_only"),
    ("create_floatingip:tags", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("get_floatingip", "(rule:admin_only) or (role:reader and project_id:%(project_id)s)"),
    ("update_floatingip", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("delete_floatingip", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),

    // Port forwardings (port_forwarding.py): the floating IP's project.
    ("create_floatingip_port_forwarding", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("get_floatingip_port_forwarding", "(rule:admin_only) or (role:reader and project_id:%(project_id)s)"),
    ("update_floatingip_port_forwarding", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("delete_floatingip_port_forwarding", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),

    // Security groups (security_group.py): the project's members manage theirs.
    ("create_security_group", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("get_security_group", "(rule:admin_only) or (role:reader and project_id:%(project_id)s)"),
    ("update_security_group", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("delete_security_group", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("create_security_group:tags", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("update_security_group:tags", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("create_security_group_rule", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("get_security_group_rule", "(rule:admin_only) or (role:reader and project_id:%(project_id)s) or rule:sg_owner"),
    ("update_security_group_rule", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),
    ("delete_security_group_rule", "(rule:admin_only) or (role:member and project_id:%(project_id)s)"),

    // Quotas (quotas.py): a project's manager may read its own quota.
    ("get_quota", "(rule:admin_only) or (role:manager and project_id:%(project_id)s)"),
    ("update_quota", "rule:admin_only"),
    ("delete_quota", "rule:admin_only"),
];
