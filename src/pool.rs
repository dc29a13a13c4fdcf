//! The web worker pool: spawns the `worker` binary N times, waits for each
//! worker's `Ready` handshake, sends postcard messages as transferred
//! `Uint8Array`s, and turns every way a worker can fail (`onerror`,
//! `onmessageerror`, a `Failed` reply, not starting in time) into a
//! [`RunError`] in words. A failed or cancelled pool is dropped (its workers
//! terminated) and a fresh one spawned by the page.
//!
//! Handles here are not `Send`: the page keeps the pool in a
//! `StoredValue::new_local`.

use crate::browser;
use crate::coordinator::{Link, RunError};
use crate::protocol::{decode, encode, FromWorker, ToWorker};
use futures_channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures_util::StreamExt;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{ErrorEvent, Event as DomEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

/// The module script Trunk's loader shim emits for the worker binary
/// (`data-bindgen-target="web"`).
const WORKER_URL: &str = "./worker_loader.js";
/// The name run-pool workers get (`run-0`, `run-1`, …); a worker so named
/// warms the engine up before it says `Ready` (`src/bin/worker.rs`).
pub const RUN_WORKER_NAME: &str = "run-";

/// What a pool's workers are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Experiment runs: the workers warm up first.
    Run,
    /// A page's one-off requests (reading model files, checking a report):
    /// no warm-up, so they cost the page nothing while it loads.
    Service,
}

/// How long workers may take to load their wasm and say `Ready`.
const READY_TIMEOUT_MS: i32 = 60_000;

/// Something that happened to the pool.
enum Event {
    Message(u32, Vec<u8>),
    Failed(u32, String),
    Cancel,
    ReadyTimeout,
}

/// Stops the run in progress (from the Cancel button).
#[derive(Clone)]
pub struct Canceller(UnboundedSender<Event>);

impl Canceller {
    /// Asks the coordinator to stop; the run ends with `RunError::Cancelled`.
    pub fn cancel(&self) {
        let _ = self.0.unbounded_send(Event::Cancel);
    }
}

type Handler = Closure<dyn FnMut(JsValue)>;

/// A set of started workers and the channel their events arrive on.
pub struct Pool {
    workers: Vec<Worker>,
    _handlers: Vec<Handler>,
    ready: Vec<bool>,
    events: UnboundedReceiver<Event>,
    sender: UnboundedSender<Event>,
}

impl Pool {
    /// Starts `count` workers for `role` (they load in the background).
    pub fn spawn(count: u32, role: Role) -> Result<Pool, String> {
        let (sender, events) = unbounded();
        let mut pool = Pool {
            workers: Vec::new(),
            _handlers: Vec::new(),
            ready: vec![false; count as usize],
            events,
            sender,
        };
        for index in 0..count {
            pool.start_worker(index, role)?;
        }
        pool.arm_ready_timeout();
        Ok(pool)
    }

    fn start_worker(&mut self, index: u32, role: Role) -> Result<(), String> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        options.set_name(&match role {
            Role::Run => format!("{RUN_WORKER_NAME}{index}"),
            Role::Service => format!("service-{index}"),
        });
        let worker = Worker::new_with_options(WORKER_URL, &options)
            .map_err(|e| format!("could not start worker {index}: {e:?}"))?;
        let tx = self.sender.clone();
        let on_message: Handler = Closure::new(move |v: JsValue| {
            let data = v.unchecked_into::<MessageEvent>().data();
            let event = match data.dyn_into::<js_sys::Uint8Array>() {
                Ok(bytes) => Event::Message(index, bytes.to_vec()),
                Err(_) => Event::Failed(index, "sent a message that is not bytes".into()),
            };
            let _ = tx.unbounded_send(event);
        });
        let tx = self.sender.clone();
        let on_error: Handler = Closure::new(move |v: JsValue| {
            let _ = tx.unbounded_send(Event::Failed(index, error_text(&v)));
        });
        let tx = self.sender.clone();
        let on_message_error: Handler = Closure::new(move |_: JsValue| {
            let _ = tx.unbounded_send(Event::Failed(index, "a message could not be read".into()));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        worker.set_onmessageerror(Some(on_message_error.as_ref().unchecked_ref()));
        self.workers.push(worker);
        self._handlers
            .extend([on_message, on_error, on_message_error]);
        Ok(())
    }

    fn arm_ready_timeout(&self) {
        let tx = self.sender.clone();
        let fire = Closure::once_into_js(move || {
            let _ = tx.unbounded_send(Event::ReadyTimeout);
        });
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                fire.unchecked_ref(),
                READY_TIMEOUT_MS,
            );
        }
    }

    /// Number of workers.
    pub fn len(&self) -> u32 {
        self.workers.len() as u32
    }

    /// Whether the pool has no workers.
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// A handle that cancels whatever this pool is doing.
    pub fn canceller(&self) -> Canceller {
        Canceller(self.sender.clone())
    }

    /// Waits until every worker has said `Ready` (the handshake), then
    /// discards stale events (a Cancel pressed after the last run ended).
    pub async fn wait_ready(&mut self) -> Result<(), RunError> {
        while let Some(i) = self.ready.iter().position(|r| !r) {
            match self.events.next().await {
                Some(Event::Message(w, bytes)) => match decode::<FromWorker>(&bytes) {
                    Ok(FromWorker::Ready) => self.ready[w as usize] = true,
                    Ok(other) => {
                        return Err(RunError::Protocol(format!(
                            "worker {w} sent {other:?} before Ready"
                        )))
                    }
                    Err(message) => return Err(RunError::Worker { worker: w, message }),
                },
                Some(Event::Failed(worker, message)) => {
                    return Err(RunError::Worker { worker, message })
                }
                Some(Event::Cancel) => return Err(RunError::Cancelled),
                Some(Event::ReadyTimeout) => {
                    return Err(RunError::Worker {
                        worker: i as u32,
                        message: format!("did not start within {} s", READY_TIMEOUT_MS / 1000),
                    })
                }
                None => return Err(RunError::Protocol("the event channel closed".into())),
            }
        }
        while let Ok(event) = self.events.try_recv() {
            match event {
                Event::Failed(worker, message) => return Err(RunError::Worker { worker, message }),
                Event::Message(w, _) => {
                    return Err(RunError::Protocol(format!("stale message from worker {w}")))
                }
                Event::Cancel | Event::ReadyTimeout => {}
            }
        }
        Ok(())
    }
}

impl Link for Pool {
    fn size(&self) -> u32 {
        self.len()
    }

    fn send(&mut self, worker: u32, message: &ToWorker) -> Result<(), RunError> {
        let fail = |e: JsValue| RunError::Worker {
            worker,
            message: format!("could not post a message: {e:?}"),
        };
        let w = self
            .workers
            .get(worker as usize)
            .filter(|_| self.ready[worker as usize])
            .ok_or_else(|| RunError::Protocol(format!("worker {worker} is not ready")))?;
        let bytes = js_sys::Uint8Array::from(encode(message).as_slice());
        let transfer = js_sys::Array::of1(&bytes.buffer());
        w.post_message_with_transfer(&bytes, &transfer)
            .map_err(fail)
    }

    async fn recv(&mut self) -> Result<(u32, FromWorker), RunError> {
        loop {
            match self.events.next().await {
                Some(Event::Message(w, bytes)) => {
                    let msg = decode::<FromWorker>(&bytes)
                        .map_err(|message| RunError::Worker { worker: w, message })?;
                    return Ok((w, msg));
                }
                Some(Event::Failed(worker, message)) => {
                    return Err(RunError::Worker { worker, message })
                }
                Some(Event::Cancel) => return Err(RunError::Cancelled),
                Some(Event::ReadyTimeout) => {}
                None => return Err(RunError::Protocol("the event channel closed".into())),
            }
        }
    }

    fn now_ms(&self) -> f64 {
        browser::now_ms()
    }
}

impl Drop for Pool {
    /// Terminates every worker (a cancelled run stops computing at once).
    fn drop(&mut self) {
        for w in &self.workers {
            w.set_onmessage(None);
            w.set_onerror(None);
            w.set_onmessageerror(None);
            w.terminate();
        }
    }
}

/// A worker error event in words.
fn error_text(v: &JsValue) -> String {
    match v.dyn_ref::<ErrorEvent>() {
        Some(e) if !e.message().is_empty() => {
            let at = if e.filename().is_empty() {
                String::new()
            } else {
                format!(" ({}:{})", e.filename(), e.lineno())
            };
            format!("{}{at}", e.message())
        }
        _ => match v.dyn_ref::<DomEvent>() {
            Some(e) => format!(
                "the worker script failed to load or run ({} event)",
                e.type_()
            ),
            None => "unknown worker error".into(),
        },
    }
}
