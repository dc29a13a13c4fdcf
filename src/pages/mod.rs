//! One module per page of the lab.

pub mod convergence;
pub mod partition;
