//! One module per experiment page (only Experiment 1 exists so far).

pub mod convergence;
