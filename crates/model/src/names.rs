//! Device and namespace names derived from resource ids, as Neutron names them.
//!
//! Linux limits interface names to 15 bytes; Neutron keeps a 3-4 letter prefix
//! and the first 11 characters of the id. Ids are UUIDs we generated or
//! validated, so no user string reaches a device name.

/// Characters of an id kept in a device name.
pub const ID_CHARS: usize = 11;

fn short(id: &str) -> &str {
    id.get(..ID_CHARS).unwrap_or(id)
}

/// `tap` + port id prefix: the VIF's host-side device.
pub fn tap_device(port_id: &str) -> String {
    format!("tap{}", short(port_id))
}

/// `brq` + network id prefix: the Linux bridge of a network.
pub fn bridge(network_id: &str) -> String {
    format!("brq{}", short(network_id))
}

/// `qbr` + port id prefix: the port's own Linux bridge in Open vSwitch's
/// hybrid plug (the instance's `tap…` and [`hybrid_bridge_veth`] on it,
/// where the security-group firewall filters the port).
pub fn hybrid_bridge(port_id: &str) -> String {
    format!("qbr{}", short(port_id))
}

/// `qvb` + port id prefix: the hybrid plug's veth end on [`hybrid_bridge`].
pub fn hybrid_bridge_veth(port_id: &str) -> String {
    format!("qvb{}", short(port_id))
}

/// `qvo` + port id prefix: the hybrid plug's veth end on the integration bridge.
pub fn hybrid_ovs_veth(port_id: &str) -> String {
    format!("qvo{}", short(port_id))
}

/// `vxlan-<vni>`: the VXLAN device of a segment.
pub fn vxlan_device(vni: u32) -> String {
    format!("vxlan-{vni}")
}

/// `qdhcp-<network_id>`: the DHCP namespace of a network.
pub fn dhcp_namespace(network_id: &str) -> String {
    format!("qdhcp-{network_id}")
}

/// `qrouter-<router_id>`: a router's namespace.
pub fn router_namespace(router_id: &str) -> String {
    format!("qrouter-{router_id}")
}

/// `qr-` + port id prefix: a router's interface on an internal network.
pub fn router_interface_device(port_id: &str) -> String {
    format!("qr-{}", short(port_id))
}

/// `qg-` + port id prefix: a router's gateway port on the external network.
pub fn router_gateway_device(port_id: &str) -> String {
    format!("qg-{}", short(port_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_ifnamsiz() {
        let id = "4e8e5957-649f-477b-9e5b-f1f75b21c03c";
        assert_eq!(tap_device(id), "tap4e8e5957-64");
        assert_eq!(bridge(id), "brq4e8e5957-64");
        assert!(tap_device(id).len() <= 15);
        assert_eq!(hybrid_bridge(id), "qbr4e8e5957-64");
        assert_eq!(hybrid_bridge_veth(id), "qvb4e8e5957-64");
        assert_eq!(hybrid_ovs_veth(id), "qvo4e8e5957-64");
        assert_eq!(vxlan_device(16_777_215), "vxlan-16777215");
        assert_eq!(dhcp_namespace(id), format!("qdhcp-{id}"));
        assert_eq!(router_namespace(id), format!("qrouter-{id}"));
        assert_eq!(router_interface_device(id), "qr-4e8e5957-64");
        assert_eq!(router_gateway_device(id), "qg-4e8e5957-64");
    }
}
