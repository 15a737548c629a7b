//! Fixed IP allocation for ports: requested addresses honoured or refused,
//! any-address requests picked at random among the free ones (random probes
//! first, then an exact pick from the allocated list when the pool is dense).

use std::net::IpAddr;

use neutrino_model::{FixedIp, Subnet};
use neutrino_store::{Allocation, Tx};
use rand::Rng;

use super::subnet::{cidr_of, pools_of};
use crate::error::{PluginError, PluginResult};

/// Random probes before reading the subnet's allocations.
const PROBES: usize = 8;

/// What to allocate on one subnet.
#[derive(Debug, Clone)]
pub(crate) enum Want {
    /// This exact address.
    Exact(IpAddr),
    /// Any free address of the pools.
    Any,
    /// The EUI-64 address of the port's MAC (SLAAC / DHCPv6-stateless).
    Eui64,
}

/// Whether a subnet hands out addresses itself (SLAAC or DHCPv6-stateless).
pub(crate) fn is_auto_address(s: &Subnet) -> bool {
    s.ip_version == 6
        && matches!(s.ipv6_address_mode.as_deref().or(s.ipv6_ra_mode.as_deref()), Some("slaac" | "dhcpv6-stateless"))
}

/// Allocates one address on `subnet` for `port_id`.
pub(crate) async fn allocate(
    tx: &mut Tx,
    subnet: &Subnet,
    port_id: &str,
    mac: [u8; 6],
    want: &Want,
) -> PluginResult<FixedIp> {
    let cidr = cidr_of(subnet)?;
    let ip = match want {
        Want::Exact(ip) => {
            if !neutrino_ipam::ip_in_cidr(cidr, *ip) || !neutrino_ipam::is_valid_host_address(cidr, *ip) {
                return Err(PluginError::InvalidIpForSubnet(ip.to_string()));
            }
            *ip
        }
        Want::Eui64 => {
            let IpAddr::V6(_) = cidr.addr() else {
                return Err(PluginError::InvalidIpForSubnet(subnet.cidr.clone()));
            };
            let ipnet::IpNet::V6(net) = cidr else {
                return Err(PluginError::InvalidIpForSubnet(subnet.cidr.clone()));
            };
            IpAddr::V6(neutrino_ipam::eui64_address(net, mac)?)
        }
        Want::Any => return pick_and_record(tx, subnet, port_id).await,
    };
    let text = ip.to_string();
    if record(tx, subnet, port_id, &text).await? {
        Ok(FixedIp { subnet_id: subnet.id.clone(), ip_address: text })
    } else {
        Err(PluginError::IpAddressAlreadyAllocated { ip: text, subnet_id: subnet.id.clone() })
    }
}

async fn record(tx: &mut Tx, subnet: &Subnet, port_id: &str, ip: &str) -> PluginResult<bool> {
    let row = Allocation {
        subnet_id: subnet.id.clone(),
        ip_address: ip.to_string(),
        port_id: port_id.to_string(),
        network_id: subnet.network_id.clone(),
    };
    Ok(tx.try_insert_allocation(&row).await?)
}

/// Random probes that record the address directly (a taken one fails its
/// unique key), then an exact pick from the subnet's allocations when the
/// pools are dense. Returns the recorded address.
async fn pick_and_record(tx: &mut Tx, subnet: &Subnet, port_id: &str) -> PluginResult<FixedIp> {
    let pools = pools_of(subnet)?;
    let size = neutrino_ipam::pools_size(&pools);
    if size == 0 {
        return Err(PluginError::SubnetExhausted(subnet.id.clone()));
    }
    let found = |ip: IpAddr| FixedIp { subnet_id: subnet.id.clone(), ip_address: ip.to_string() };
    for _ in 0..PROBES {
        let n = rand::thread_rng().gen_range(0..size);
        let Some(ip) = neutrino_ipam::nth_address(&pools, n) else { continue };
        if record(tx, subnet, port_id, &ip.to_string()).await? {
            return Ok(found(ip));
        }
    }
    let mut allocated: Vec<IpAddr> =
        tx.allocated_addresses(&subnet.id).await?.iter().filter_map(|s| s.parse().ok()).collect();
    allocated.sort_unstable();
    let ip = neutrino_ipam::random_free(&pools, &allocated, &mut rand::thread_rng())
        .ok_or_else(|| PluginError::SubnetExhausted(subnet.id.clone()))?;
    if record(tx, subnet, port_id, &ip.to_string()).await? {
        Ok(found(ip))
    } else {
        // Only a concurrent writer on a multi-writer database (PostgreSQL)
        // gets here: it took the address since the read; run the request again.
        Err(PluginError::Store(neutrino_store::StoreError::Conflict(format!(
            "{ip} on subnet {} taken by a concurrent transaction",
            subnet.id
        ))))
    }
}
