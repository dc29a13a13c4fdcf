//! Reusable pieces of the experiment pages.

pub mod chart;
pub mod controls;
pub mod network;
pub mod progress;
pub mod report;
pub mod results;
pub mod verdict;
pub mod weights;
