//! The Trust experiment (E4). To be written.
