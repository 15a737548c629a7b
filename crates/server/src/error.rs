//! Errors of the core plugin, each one a Neutron exception with its status.

use neutrino_model::fault::Resource;
use neutrino_model::Fault;
use neutrino_store::StoreError;

/// What the core plugin can refuse, with Neutron's types and messages.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// A resource does not exist or is not visible to the caller.
    #[error("{} {id} could not be found", .resource.singular())]
    NotFound {
        /// Which type.
        resource: Resource,
        /// The id asked for.
        id: String,
    },
    /// Malformed request (`HTTPBadRequest`).
    #[error("{0}")]
    BadRequest(String),
    /// Semantically invalid request (`InvalidInput`).
    #[error("Invalid input for operation: {0}.")]
    InvalidInput(String),
    /// The caller may not do this (`PolicyNotAuthorized`).
    #[error("rule:{0} is disallowed by policy")]
    Forbidden(String),
    /// `If-Match` revision mismatch.
    #[error("Constrained to {expected}, but current revision is {current}")]
    RevisionMismatch {
        /// Revision the client expected.
        expected: u64,
        /// The resource's revision.
        current: u64,
    },
    /// Network still has ports.
    #[error("Unable to complete operation on network {0}. There are one or more ports still in use on the network.")]
    NetworkInUse(String),
    /// Subnet still has allocations.
    #[error("Unable to complete operation on subnet {0}: One or more ports have an IP allocation from this subnet.")]
    SubnetInUse(String),
    /// Address taken.
    #[error("IP address {ip} already allocated in subnet {subnet_id}")]
    IpAddressAlreadyAllocated {
        /// The address.
        ip: String,
        /// The subnet.
        subnet_id: String,
    },
    /// Address not on the subnet.
    #[error("IP address {0} is not a valid IP for the specified subnet.")]
    InvalidIpForSubnet(String),
    /// Address not on any subnet of the network.
    #[error("IP address {0} is not a valid IP for any of the subnets on the specified network.")]
    InvalidIpForNetwork(String),
    /// Subnet exhausted.
    #[error("No more IP addresses available for subnet {0}.")]
    SubnetExhausted(String),
    /// Network exhausted.
    #[error("No more IP addresses available on network {0}.")]
    NetworkExhausted(String),
    /// MAC taken.
    #[error("Unable to complete operation for network {net_id}. The mac address {mac} is in use.")]
    MacAddressInUse {
        /// Network.
        net_id: String,
        /// MAC.
        mac: String,
    },
    /// MAC generation kept colliding.
    #[error("Unable to generate unique mac on network {0}.")]
    MacGenerationFailure(String),
    /// Tenant network ranges exhausted.
    #[error("Unable to create the network. No tenant network is available for allocation.")]
    NoNetworkAvailable,
    /// VLAN taken.
    #[error("Unable to create the network. The VLAN {vlan_id} on physical network {physical_network} is in use.")]
    VlanIdInUse {
        /// VLAN id.
        vlan_id: u32,
        /// Physical network.
        physical_network: String,
    },
    /// Tunnel id taken.
    #[error("Unable to create the network. The tunnel ID {0} is in use.")]
    TunnelIdInUse(u32),
    /// Flat physical network taken.
    #[error("Unable to create the flat network. Physical network {0} is in use.")]
    FlatNetworkInUse(String),
    /// Allocation pool errors and the like, already Neutron-shaped.
    #[error("{}", .0.message)]
    Fault(Fault),
    /// Tag missing.
    #[error("Tag {tag} could not be found for {resource} {resource_id}.")]
    TagNotFound {
        /// Tag.
        tag: String,
        /// Resource type.
        resource: &'static str,
        /// Resource id.
        resource_id: String,
    },
    /// Allowed address pairs need port security.
    #[error("Port Security must be enabled in order to have allowed address pairs on a port.")]
    AddressPairAndPortSecurityRequired,
    /// MAC change on a bound port.
    #[error("Unable to complete operation on port {port_id}, port is already bound, port type: {vif_type}, old_mac {old_mac}, new_mac {new_mac}.")]
    PortBound {
        /// Port.
        port_id: String,
        /// Its VIF type.
        vif_type: String,
        /// Current MAC.
        old_mac: String,
        /// Requested MAC.
        new_mac: String,
    },
    /// Store failure (internal; the cause is logged, not shown).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The fault type of a transaction the database gave up to keep
/// concurrent ones serialisable; the API runs such requests again
/// (`api::retry`) before a client ever sees it.
pub const CONFLICT_KIND: &str = "DBConflict";

impl PluginError {
    /// The client-visible fault.
    pub fn fault(&self) -> Fault {
        use PluginError as E;
        let msg = self.to_string();
        let (status, kind) = match self {
            E::NotFound { resource, id } => return Fault::resource_not_found(*resource, id),
            E::BadRequest(_) => (400, "HTTPBadRequest"),
            E::InvalidInput(_) => (400, "InvalidInput"),
            E::Forbidden(_) => (403, "PolicyNotAuthorized"),
            E::RevisionMismatch { .. } => (412, "RevisionNumberConstraintFailed"),
            E::NetworkInUse(_) => (409, "NetworkInUse"),
            E::SubnetInUse(_) => (409, "SubnetInUse"),
            E::IpAddressAlreadyAllocated { .. } => (409, "IpAddressAlreadyAllocated"),
            E::InvalidIpForSubnet(_) => (400, "InvalidIpForSubnet"),
            E::InvalidIpForNetwork(_) => (400, "InvalidIpForNetwork"),
            E::SubnetExhausted(_) | E::NetworkExhausted(_) => (409, "IpAddressGenerationFailure"),
            E::MacAddressInUse { .. } => (409, "MacAddressInUse"),
            E::MacGenerationFailure(_) => (503, "MacAddressGenerationFailure"),
            E::NoNetworkAvailable => (503, "NoNetworkAvailable"),
            E::VlanIdInUse { .. } => (409, "VlanIdInUse"),
            E::TunnelIdInUse(_) => (409, "TunnelIdInUse"),
            E::FlatNetworkInUse(_) => (409, "FlatNetworkInUse"),
            E::Fault(f) => return f.clone(),
            E::TagNotFound { .. } => (404, "TagNotFound"),
            E::AddressPairAndPortSecurityRequired => (409, "AddressPairAndPortSecurityRequired"),
            E::PortBound { .. } => (409, "PortBound"),
            E::Store(StoreError::Conflict(why)) => {
                tracing::debug!(reason = %why, "transaction conflict");
                return Fault::new(409, CONFLICT_KIND, "The request conflicted with a concurrent one; retry it.");
            }
            E::Store(StoreError::Unavailable(why)) => {
                tracing::warn!(reason = %why, "database unavailable");
                return Fault::new(503, "ServiceUnavailable", "The database is unavailable; retry later.");
            }
            E::Store(err) => {
                tracing::error!(error = %err, "store failure");
                return Fault::new(
                    500,
                    "HTTPInternalServerError",
                    "Request Failed: internal server error while processing your request.",
                );
            }
        };
        Fault::new(status, kind, msg)
    }

    /// `NotFound` shorthand.
    pub fn not_found(resource: Resource, id: &str) -> Self {
        PluginError::NotFound { resource, id: id.to_string() }
    }
}

impl From<neutrino_ipam::IpamError> for PluginError {
    fn from(e: neutrino_ipam::IpamError) -> Self {
        PluginError::Fault(Fault::new(e.status(), e.neutron_type(), e.to_string()))
    }
}

impl From<Fault> for PluginError {
    fn from(f: Fault) -> Self {
        PluginError::Fault(f)
    }
}

/// Result of plugin operations.
pub type PluginResult<T> = Result<T, PluginError>;
