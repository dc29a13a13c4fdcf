//! In-process workers behind the real wire encoding: a [`Link`] over
//! [`WorkerCore`]s, for tests (native and wasm) and benchmarks. Replies come
//! back newest first, so the coordinator is also checked not to rely on
//! arrival order.

use crate::coordinator::{run, Finished, Link, RunError};
use crate::protocol::{decode, encode, FromWorker, ToWorker};
use crate::worker_core::{ProgressOut, WorkerCore};
use lab_core::experiment::convergence::ConvergenceConfig;
use std::cell::Cell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Workers that handle each request as soon as it is sent.
pub struct LocalLink {
    cores: Vec<WorkerCore>,
    replies: VecDeque<(u32, Vec<u8>)>,
}

impl LocalLink {
    /// `workers` fresh in-process workers.
    pub fn new(workers: u32) -> LocalLink {
        LocalLink {
            cores: (0..workers).map(|_| WorkerCore::new()).collect(),
            replies: VecDeque::new(),
        }
    }
}

impl Link for LocalLink {
    fn size(&self) -> u32 {
        self.cores.len() as u32
    }

    fn send(&mut self, worker: u32, message: &ToWorker) -> Result<(), RunError> {
        let request: ToWorker = decode(&encode(message)).map_err(RunError::Protocol)?;
        let core = self
            .cores
            .get_mut(worker as usize)
            .ok_or_else(|| RunError::Protocol(format!("no worker {worker}")))?;
        // A job's progress messages come before its reply, as from a web
        // worker; every step is sent (the clock moves 1 s per reading).
        let mut progress = Vec::new();
        let clock = Cell::new(0.0);
        let now_ms = || {
            clock.set(clock.get() + 1000.0);
            clock.get()
        };
        let reply = core.handle_with(
            request,
            ProgressOut {
                post: &mut |m| progress.push(m),
                now_ms: &now_ms,
            },
        );
        self.replies.push_front((worker, encode(&reply)));
        for m in progress.iter().rev() {
            self.replies.push_front((worker, encode(m)));
        }
        Ok(())
    }

    async fn recv(&mut self) -> Result<(u32, FromWorker), RunError> {
        let (w, bytes) = self.replies.pop_front().ok_or_else(|| {
            RunError::Protocol("waiting for a reply that was never asked for".into())
        })?;
        let msg = decode(&bytes).map_err(|message| RunError::Worker { worker: w, message })?;
        Ok((w, msg))
    }

    fn now_ms(&self) -> f64 {
        0.0
    }
}

/// Runs Experiment 1 over `workers` in-process workers.
pub fn run_local(config: &ConvergenceConfig, workers: u32) -> Result<Finished, RunError> {
    let mut link = LocalLink::new(workers);
    block_on(run(&mut link, config, &mut |_| {}))
}

/// Polls a future that never waits on anything outside this thread (a
/// [`LocalLink`] run is always ready) to completion.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
