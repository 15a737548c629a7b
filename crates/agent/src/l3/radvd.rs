//! Router advertisements from a router's namespace, as Neutron's radvd
//! sends them: on each internal port with IPv6 subnets whose
//! `ipv6_ra_mode` is set, the router advertises itself as the default
//! router, the link MTU and the prefixes — autonomous (A flag) for `slaac`
//! and `dhcpv6-stateless`, with the M flag for `dhcpv6-stateful` and the O
//! flag for `dhcpv6-stateless`. Subnets without `ipv6_ra_mode` are an
//! outside router's to advertise.

use ipnet::IpNet;
use neutrino_model::l3::RouterState;
use neutrino_model::names;

use crate::nat;

/// radvd's configuration for a router, or `None` when it advertises nothing.
pub(super) fn config(r: &RouterState) -> Option<String> {
    if !r.admin_state_up {
        return None;
    }
    let mut out = String::new();
    for port in &r.interfaces {
        let device = names::router_interface_device(&port.id);
        if !nat::valid_device(&device) {
            continue;
        }
        let mut prefixes = String::new();
        let (mut managed, mut other) = (false, false);
        for s in &port.subnets {
            let Some(ra) = s.ipv6_ra_mode.as_deref() else { continue };
            let Ok(IpNet::V6(cidr)) = s.cidr.parse::<IpNet>() else { continue };
            let autonomous = match ra {
                "slaac" => true,
                "dhcpv6-stateless" => {
                    other = true;
                    true
                }
                "dhcpv6-stateful" => {
                    managed = true;
                    false
                }
                _ => continue,
            };
            let flag = if autonomous { "on" } else { "off" };
            prefixes.push_str(&format!(
                "   prefix {}\n   {{\n        AdvOnLink on;\n        AdvAutonomous {flag};\n   }};\n",
                cidr.trunc()
            ));
        }
        if prefixes.is_empty() {
            continue;
        }
        let onoff = |b: bool| if b { "on" } else { "off" };
        out.push_str(&format!(
            "interface {device}\n{{\n   AdvSendAdvert on;\n   MinRtrAdvInterval 30;\n   MaxRtrAdvInterval 100;\n   \
             AdvLinkMTU {};\n   AdvManagedFlag {};\n   AdvOtherConfigFlag {};\n{prefixes}}};\n",
            port.mtu,
            onoff(managed),
            onoff(other)
        ));
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use neutrino_model::l3::{RouterPort, RouterSubnet};

    use super::*;

    fn router(modes: &[(&str, Option<&str>)]) -> RouterState {
        RouterState {
            id: "r".into(),
            admin_state_up: true,
            enable_snat: true,
            gateway: None,
            interfaces: vec![RouterPort {
                id: "4e8e5957-649f-477b-9e5b-f1f75b21c03c".into(),
                network_id: "n".into(),
                mac_address: "fa:16:3e:00:00:01".into(),
                mtu: 1450,
                fixed_ips: vec![],
                subnets: modes
                    .iter()
                    .map(|(cidr, ra)| RouterSubnet {
                        id: (*cidr).into(),
                        cidr: (*cidr).into(),
                        ip_version: if cidr.contains(':') { 6 } else { 4 },
                        gateway_ip: None,
                        ipv6_ra_mode: ra.map(String::from),
                        ipv6_address_mode: ra.map(String::from),
                    })
                    .collect(),
            }],
            routes: vec![],
            floating_ips: vec![],
            port_forwardings: vec![],
        }
    }

    #[test]
    fn prefixes_and_flags_follow_the_ra_modes() {
        let text = config(&router(&[
            ("10.0.0.0/24", None),
            ("2001:db8:a::/64", Some("slaac")),
            ("2001:db8:b::/64", Some("dhcpv6-stateful")),
            ("2001:db8:c::/64", None),
        ]))
        .expect("advertises");
        assert!(text.starts_with("interface qr-4e8e5957-64\n{\n   AdvSendAdvert on;"), "{text}");
        assert!(text.contains("AdvLinkMTU 1450;\n   AdvManagedFlag on;\n   AdvOtherConfigFlag off;"), "{text}");
        assert!(text.contains("prefix 2001:db8:a::/64\n   {\n        AdvOnLink on;\n        AdvAutonomous on;"));
        assert!(text.contains("prefix 2001:db8:b::/64\n   {\n        AdvOnLink on;\n        AdvAutonomous off;"));
        assert!(!text.contains("2001:db8:c::") && !text.contains("10.0.0.0"), "{text}");
        let stateless = config(&router(&[("2001:db8:c::/64", Some("dhcpv6-stateless"))])).expect("advertises");
        assert!(stateless.contains("AdvManagedFlag off;\n   AdvOtherConfigFlag on;"), "{stateless}");
        assert_eq!(config(&router(&[("2001:db8:c::/64", None)])), None, "an outside router's prefix");
        let mut down = router(&[("2001:db8:a::/64", Some("slaac"))]);
        down.admin_state_up = false;
        assert_eq!(config(&down), None);
    }
}
