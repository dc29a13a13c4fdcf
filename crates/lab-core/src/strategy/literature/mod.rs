//! The literature family: merge methods as their papers (and mergekit)
//! define them, named `<method>:paper` or `<method>:mergekit`.

use super::Strategy;

/// Every literature-family strategy, in registry order.
pub static ALL: &[&dyn Strategy] = &[];
