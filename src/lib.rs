//! # Convergence Lab — the browser side
//!
//! A Leptos (client-side rendered) app over `lab-core`. The engine never runs
//! on the page's main thread: a pool of web workers hosts the simulated
//! nodes, and a light coordinator on the main thread routes their messages.
//!
//! - [`protocol`]: the postcard messages between coordinator and workers;
//! - [`worker_core`]: what a worker does with each message (pure Rust, no
//!   web APIs), wrapped by the `worker` binary (`src/bin/worker.rs`);
//! - [`coordinator`]: the round loop, driving workers exactly as the native
//!   runner drives executors, so fingerprints match `lab-cli`'s;
//! - [`local`]: the same workers in-process, for tests;
//! - [`pool`]: spawning, handshake, transfer, failure and cancel of workers;
//! - [`query`]: permalinks (config ⇄ URL query) and the browser's limits;
//! - [`chart`], [`export`]: the convergence chart and CSV, as plain strings;
//! - [`app`], [`pages`], [`components`]: the UI.
//!
//! Architecture invariant: nothing here computes a result. Every number in a
//! report comes from `lab-core`; the UI only adds timings (`Execution`).

pub mod app;
pub mod bench;
pub mod browser;
pub mod chart;
pub mod components;
pub mod coordinator;
pub mod export;
pub mod jobs;
pub mod local;
pub mod pages;
pub mod pool;
pub mod protocol;
pub mod query;
pub mod runner;
pub mod worker_core;
