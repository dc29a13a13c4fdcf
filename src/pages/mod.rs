//! One module per page of the lab.

pub mod benchmark;
pub mod convergence;
pub mod overview;
pub mod partition;
pub mod reproduce;
pub mod scale;
pub mod suite;
pub mod sweep;
pub mod trust;
