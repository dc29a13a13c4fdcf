//! The E4 trust layer. To be written.
