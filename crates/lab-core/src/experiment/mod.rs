//! The lab's experiments. Each takes a validated config, runs on the
//! simulator, and returns a schema-1 [`crate::report::Report`] whose
//! fingerprint depends only on the config.

pub mod convergence;
pub mod fuzz;
pub mod negative;
pub mod params;
pub mod partition;
pub mod scale;
pub mod suite;
pub mod sweep;
pub mod trust;
