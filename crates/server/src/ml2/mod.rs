//! ML2: type drivers allocate segments, mechanism drivers bind ports.

pub mod mechanism;
pub mod types;

pub use mechanism::{AgentView, BindRequest, Binding, MechanismDriver, MechanismManager};
pub use types::{NetworkType, SegmentRequest, TypeManager};
