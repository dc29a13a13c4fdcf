//! The run machinery every experiment page shares: a pool of web workers,
//! Run / Cancel, a ticking clock with progress, and how the last run ended.
//! A page hands [`Runner::start`] a task — an async function of a ready pool
//! that returns the pool and a report — and renders [`Runner::outcome`].
//!
//! Cancel drops the pool (terminating its workers mid-computation) and
//! spawns a fresh one; a failed run drops it too and the next run respawns.

use crate::browser;
use crate::coordinator::RunError;
use crate::pool::{Canceller, Pool, Role};
use lab_core::report::{Execution, Report};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// How often the elapsed time is refreshed while a run is under way.
const TICK_MS: u64 = 250;

/// Where a run is, in words and as a fraction for the bar.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    /// Fraction done in `0..=1`.
    pub fraction: f64,
    pub text: String,
}

/// What the progress bar shows while a run is under way.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunClock {
    /// Milliseconds since the run started.
    pub elapsed_ms: f64,
    /// Latest status, if any arrived yet.
    pub status: Option<Status>,
}

/// How the last run ended.
#[derive(Clone, Debug)]
pub enum Outcome<T> {
    Done(Arc<T>),
    Cancelled,
    Failed(String),
}

/// A finished computation: its report and named phase timings (ms).
pub struct Finished<T> {
    pub report: T,
    pub phases_ms: Vec<(String, f64)>,
}

/// Reports a status from inside a task.
pub type StatusSink = Rc<dyn Fn(Status)>;

/// What a task returns: the pool back, and the result.
pub type TaskFuture<T> = Pin<Box<dyn Future<Output = (Pool, Result<Finished<T>, RunError>)>>>;

/// Reports whose `execution` the runner fills in.
pub trait Timed {
    fn set_execution(&mut self, execution: Execution);
    fn execution(&self) -> Option<&Execution>;
}

impl<C, R> Timed for Report<C, R> {
    fn set_execution(&mut self, execution: Execution) {
        self.execution = Some(execution);
    }

    fn execution(&self) -> Option<&Execution> {
        self.execution.as_ref()
    }
}

/// A report of what this browser measured (the Overview's checks, the
/// benchmark page): the experiment reports' layout without verdict or
/// fingerprint, since timings do not reproduce.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Measured<C, R> {
    pub schema: u32,
    pub experiment: String,
    pub lab_version: String,
    pub config: C,
    pub results: R,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<Execution>,
}

impl<C, R> Measured<C, R> {
    pub fn new(experiment: &str, config: C, results: R) -> Measured<C, R> {
        Measured {
            schema: lab_core::report::SCHEMA,
            experiment: experiment.into(),
            lab_version: lab_core::LAB_VERSION.into(),
            config,
            results,
            execution: None,
        }
    }
}

impl<C, R> Timed for Measured<C, R> {
    fn set_execution(&mut self, execution: Execution) {
        self.execution = Some(execution);
    }

    fn execution(&self) -> Option<&Execution> {
        self.execution.as_ref()
    }
}

/// The run machinery of one page. Every field is a `Copy` handle, so the
/// runner moves into any closure.
pub struct Runner<T: Send + Sync + 'static> {
    pub workers: u32,
    pool: StoredValue<Option<Pool>, LocalStorage>,
    canceller: StoredValue<Option<Canceller>, LocalStorage>,
    ticker: StoredValue<Option<IntervalHandle>, LocalStorage>,
    started_ms: StoredValue<f64>,
    timer_resolution_us: StoredValue<f64>,
    pub running: RwSignal<bool>,
    pub clock: RwSignal<Option<RunClock>>,
    pub outcome: RwSignal<Option<Outcome<T>>>,
}

impl<T: Send + Sync + 'static> Clone for Runner<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Runner<T> {}

impl<T: Timed + Send + Sync + 'static> Runner<T> {
    /// A runner with `workers` web workers, spawned now (they load while
    /// the user reads the page).
    pub fn new(workers: u32) -> Runner<T> {
        let runner = Runner {
            workers,
            pool: StoredValue::new_local(None),
            canceller: StoredValue::new_local(None),
            ticker: StoredValue::new_local(None),
            started_ms: StoredValue::new(0.0),
            timer_resolution_us: StoredValue::new(browser::timer_resolution_us()),
            running: RwSignal::new(false),
            clock: RwSignal::new(None),
            outcome: RwSignal::new(None),
        };
        runner.respawn();
        runner
    }

    /// Replaces the pool with fresh workers (after a failure or Cancel).
    fn respawn(self) {
        self.pool.set_value(None); // terminates the old workers first
        match Pool::spawn(self.workers, Role::Run) {
            Ok(pool) => self.pool.set_value(Some(pool)),
            Err(e) => self.outcome.set(Some(Outcome::Failed(e))),
        }
    }

    /// Starts `task` on the pool once every worker is ready (ignored while
    /// a run is under way).
    pub fn start(self, task: impl FnOnce(Pool, StatusSink) -> TaskFuture<T> + 'static) {
        if self.running.get_untracked() {
            return;
        }
        if self.pool.with_value(|p| p.is_none()) {
            self.respawn();
        }
        let Some(pool) = self.pool.write_value().take() else {
            return;
        };
        self.canceller.set_value(Some(pool.canceller()));
        self.running.set(true);
        self.outcome.set(None);
        self.started_ms.set_value(browser::now_ms());
        self.clock.set(Some(RunClock::default()));
        let tick = move || self.tick(None);
        self.ticker
            .set_value(set_interval_with_handle(tick, Duration::from_millis(TICK_MS)).ok());
        spawn_local(self.drive(pool, task));
    }

    /// Refreshes the elapsed time (and the status, when one arrived).
    fn tick(self, status: Option<Status>) {
        let elapsed_ms = browser::now_ms() - self.started_ms.get_value();
        self.clock.update(|c| {
            if let Some(c) = c {
                c.elapsed_ms = elapsed_ms;
                if status.is_some() {
                    c.status = status;
                }
            }
        });
    }

    async fn drive(self, mut pool: Pool, task: impl FnOnce(Pool, StatusSink) -> TaskFuture<T>) {
        if let Err(e) = pool.wait_ready().await {
            self.finish(pool, Err(e), 0.0);
            return;
        }
        let started_ms = browser::now_ms();
        self.started_ms.set_value(started_ms);
        let sink: StatusSink = Rc::new(move |s| self.tick(Some(s)));
        let (pool, result) = task(pool, sink).await;
        self.finish(pool, result, browser::now_ms() - started_ms);
    }

    fn finish(self, pool: Pool, result: Result<Finished<T>, RunError>, total_ms: f64) {
        if let Some(t) = self.ticker.write_value().take() {
            t.clear();
        }
        self.canceller.set_value(None);
        let outcome = match result {
            Ok(finished) => {
                let mut report = finished.report;
                report.set_execution(Execution {
                    executor: "browser".into(),
                    workers: pool.len(),
                    total_ms,
                    phases_ms: finished.phases_ms,
                    timer_resolution_us: self.timer_resolution_us.get_value(),
                    environment: browser::environment(),
                });
                self.pool.set_value(Some(pool));
                Outcome::Done(Arc::new(report))
            }
            Err(e) => {
                drop(pool); // terminates the workers, even mid-computation
                match e {
                    RunError::Cancelled => {
                        self.respawn();
                        Outcome::Cancelled
                    }
                    // Respawned by the next run, so whatever broke (a
                    // network hiccup loading the worker) has a chance to heal.
                    e => Outcome::Failed(e.to_string()),
                }
            }
        };
        self.outcome.set(Some(outcome));
        self.clock.set(None);
        self.running.set(false);
    }

    /// Stops the run in progress.
    pub fn cancel(self) {
        self.canceller.with_value(|c| {
            if let Some(c) = c {
                c.cancel();
            }
        });
    }
}

/// Runs `jobs` on the pool and hands the ordered outputs to `assemble`:
/// the task of every experiment that splits into [`crate::protocol::Job`]s.
pub fn job_task<T: 'static>(
    jobs: Vec<crate::protocol::Job>,
    labels: Vec<String>,
    assemble: impl FnOnce(Vec<crate::jobs::Done>) -> Result<T, RunError> + 'static,
) -> impl FnOnce(Pool, StatusSink) -> TaskFuture<T> + 'static {
    job_task_with(jobs, labels, None, assemble)
}

/// [`job_task`] for jobs whose config may name model files: `tensors`
/// (the real-weights panel's) go to every worker of the pool first.
pub fn job_task_with<T: 'static>(
    jobs: Vec<crate::protocol::Job>,
    labels: Vec<String>,
    tensors: Option<Arc<lab_core::experiment::convergence::FileTensors>>,
    assemble: impl FnOnce(Vec<crate::jobs::Done>) -> Result<T, RunError> + 'static,
) -> impl FnOnce(Pool, StatusSink) -> TaskFuture<T> + 'static {
    move |mut pool, sink| {
        Box::pin(async move {
            let sent = crate::components::weights::send_tensors_first(
                &mut pool,
                tensors.as_deref(),
                &sink,
            )
            .await;
            if let Err(e) = sent {
                return (pool, Err(e));
            }
            let result = crate::jobs::run_jobs(&mut pool, jobs, &labels, &mut |p| {
                let text = match (&p.within, p.last.is_empty()) {
                    (Some(w), _) if p.total == 1 => w.detail.clone(),
                    (Some(w), _) => {
                        format!("{} of {} jobs done; {}", p.done, p.total, w.detail)
                    }
                    (None, true) => format!("{} of {} jobs done", p.done, p.total),
                    (None, false) => {
                        format!("{} of {} done (last: {})", p.done, p.total, p.last)
                    }
                };
                sink(Status {
                    fraction: p.fraction(),
                    text,
                })
            })
            .await;
            let result = result.and_then(|done| {
                let phases_ms = labels
                    .iter()
                    .zip(&done)
                    .map(|(l, d)| (l.clone(), d.elapsed_ms))
                    .collect();
                assemble(done).map(|report| Finished { report, phases_ms })
            });
            (pool, result)
        })
    }
}

/// The number of workers a page uses: the link's `workers=N`, else one per
/// logical core up to [`crate::query::WORKERS_DEFAULT_MAX`].
pub fn page_workers(options: &crate::query::PageOptions) -> u32 {
    options
        .workers
        .unwrap_or_else(|| browser::default_workers(crate::query::WORKERS_DEFAULT_MAX))
}

/// The form's config and its problems (fallback notes dropped: the form
/// shows the value it has).
fn read_form<C>(
    form: crate::components::controls::Form,
    read: crate::query::ConfigReader<C>,
) -> (C, Vec<lab_core::experiment::params::QueryIssue>) {
    let (config, found) = read(&form.pairs());
    let found = found
        .into_iter()
        .map(crate::components::report::without_fallback_note)
        .collect();
    (config, found)
}

/// Reads the form into a config when Run is pressed: the page's reader (the
/// engine codec plus browser limits), then `extra` checks; every problem
/// goes to `issues` (shown under the form) and no config is returned.
pub fn config_from_form<C>(
    form: crate::components::controls::Form,
    read: crate::query::ConfigReader<C>,
    issues: RwSignal<Vec<lab_core::experiment::params::QueryIssue>>,
    extra: impl FnOnce(&C, &mut Vec<lab_core::experiment::params::QueryIssue>),
) -> Option<C> {
    let (config, mut found) = read_form(form, read);
    extra(&config, &mut found);
    let ok = found.is_empty();
    issues.set(found);
    ok.then_some(config)
}

/// What a page's controls need from its runner: the form's problems, Run
/// and Cancel.
pub struct PageActions {
    pub issues: RwSignal<Vec<lab_core::experiment::params::QueryIssue>>,
    pub on_run: Callback<()>,
    pub on_cancel: Callback<()>,
}

/// Wires an experiment page whose Run reads the form with `read`, lets
/// `prepare` check the config and add what the task needs beside it (model
/// tensors, say; problems go to the form's issues), writes the config into
/// the address bar and starts `task` (also on load when the link says
/// `run=1`, with the link's `config` and a default input).
#[allow(clippy::too_many_arguments)]
pub fn page_actions<C, I, T, G>(
    form: crate::components::controls::Form,
    runner: Runner<T>,
    options: crate::query::PageOptions,
    read: crate::query::ConfigReader<C>,
    to_query: fn(&C) -> Vec<(String, String)>,
    prepare: impl Fn(C, &mut Vec<lab_core::experiment::params::QueryIssue>) -> Option<(C, I)>
        + Send
        + Sync
        + 'static,
    task: fn(C, I) -> G,
    config: &C,
) -> PageActions
where
    C: Clone + 'static,
    I: Default + 'static,
    T: Timed + Send + Sync + 'static,
    G: FnOnce(Pool, StatusSink) -> TaskFuture<T> + 'static,
{
    let issues = RwSignal::new(Vec::new());
    let on_run = Callback::new(move |()| {
        let (config, mut found) = read_form(form, read);
        let prepared = prepare(config, &mut found);
        let ok = found.is_empty();
        issues.set(found);
        if let (Some((config, input)), true) = (prepared, ok) {
            browser::replace_query(&crate::query::page_query(to_query(&config), &options));
            runner.start(task(config, input));
        }
    });
    let on_cancel = Callback::new(move |()| runner.cancel());
    if options.run {
        runner.start(task(config.clone(), I::default()));
    }
    PageActions {
        issues,
        on_run,
        on_cancel,
    }
}
