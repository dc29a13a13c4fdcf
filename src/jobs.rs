//! Experiments that split into independent jobs (a strategy's sweep row, a
//! scalability size, a whole partition or trust run): the coordinator hands
//! jobs to free workers, at most one per worker at a time, and puts the
//! outputs back in job order — so the report (assembled by `lab-core` from
//! that ordered list) does not depend on the number of workers or on which
//! worker finished first.

use crate::coordinator::{Link, RunError};
use crate::pool::{Pool, Role};
use crate::protocol::{FromWorker, Job, JobOutput, ToWorker};
use leptos::prelude::{LocalStorage, SetValue, StoredValue, UpdateValue};

/// Most jobs one run may queue.
pub const JOBS_MAX: usize = 4096;

/// Where a job run is, for the progress bar.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobProgress {
    pub done: u32,
    pub total: u32,
    /// What the last finished job was (e.g. the strategy's name).
    pub last: String,
    /// The jobs under way, summed: each one's reported `step / steps`
    /// (0 until it reports; jobs that report nothing stay at 0).
    pub running: f64,
    /// The latest progress a running job reported, if any.
    pub within: Option<Within>,
}

/// What a running job last said about itself ([`FromWorker::JobProgress`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Within {
    /// The job's index.
    pub index: u32,
    pub step: u32,
    pub steps: u32,
    /// In words (e.g. "round 12 of at most 100; …").
    pub detail: String,
}

impl JobProgress {
    /// Fraction done in `0..=1`, counting the finished part of running jobs.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            ((self.done as f64 + self.running) / self.total as f64).clamp(0.0, 1.0)
        }
    }
}

/// One job's output and how long it took from send to reply (ms).
pub struct Done {
    pub output: JobOutput,
    pub elapsed_ms: f64,
}

/// Runs `jobs` over `link`'s workers; outputs come back in job order.
/// `labels[i]` names job `i` in progress reports.
pub async fn run_jobs<L: Link>(
    link: &mut L,
    jobs: Vec<Job>,
    labels: &[String],
    progress: &mut dyn FnMut(JobProgress),
) -> Result<Vec<Done>, RunError> {
    if jobs.len() > JOBS_MAX {
        return Err(RunError::Protocol(format!(
            "{} jobs exceed the limit of {JOBS_MAX}",
            jobs.len()
        )));
    }
    let total = jobs.len() as u32;
    let workers = link.size();
    if workers == 0 {
        return Err(RunError::Protocol("no workers".into()));
    }
    let jobs_len = jobs.len();
    let mut outputs: Vec<Option<Done>> = (0..jobs.len()).map(|_| None).collect();
    let mut started_ms = vec![0.0; jobs.len()];
    let mut busy: Vec<Option<u32>> = vec![None; workers as usize];
    let mut queue = jobs.into_iter().enumerate();
    let mut done = 0u32;
    // Each job's reported fraction while it runs.
    let mut within: Vec<f64> = vec![0.0; jobs_len];
    let mut last = String::new();
    progress(JobProgress {
        done,
        total,
        ..JobProgress::default()
    });
    // Fill every worker, then refill each one as it answers.
    for w in 0..workers {
        if let Some((i, job)) = queue.next() {
            started_ms[i] = link.now_ms();
            link.send(
                w,
                &ToWorker::Job {
                    index: i as u32,
                    job,
                },
            )?;
            busy[w as usize] = Some(i as u32);
        }
    }
    while done < total {
        let (w, reply) = link.recv().await?;
        if let FromWorker::JobProgress {
            index,
            step,
            steps,
            detail,
        } = reply
        {
            // Progress of a job this worker is running; anything else is
            // stale and ignored.
            if busy.get(w as usize) == Some(&Some(index)) {
                let i = index as usize;
                within[i] = if steps == 0 {
                    0.0
                } else {
                    (step as f64 / steps as f64).clamp(0.0, 1.0)
                };
                progress(JobProgress {
                    done,
                    total,
                    last: last.clone(),
                    running: running_sum(&within, &busy),
                    within: Some(Within {
                        index,
                        step,
                        steps,
                        detail,
                    }),
                });
            }
            continue;
        }
        let FromWorker::JobDone { index, output } = reply else {
            return Err(match reply {
                FromWorker::Failed { message } => RunError::Worker { worker: w, message },
                other => RunError::Protocol(format!("worker {w} sent {other:?} for a job")),
            });
        };
        let slot = busy
            .get_mut(w as usize)
            .ok_or_else(|| RunError::Protocol(format!("a reply from unknown worker {w}")))?;
        if *slot != Some(index) {
            return Err(RunError::Protocol(format!(
                "worker {w} answered job {index}, which it was not given"
            )));
        }
        *slot = None;
        let i = index as usize;
        outputs[i] = Some(Done {
            output,
            elapsed_ms: link.now_ms() - started_ms[i],
        });
        done += 1;
        within[i] = 0.0;
        last = labels.get(i).cloned().unwrap_or_default();
        progress(JobProgress {
            done,
            total,
            last: last.clone(),
            running: running_sum(&within, &busy),
            within: None,
        });
        if let Some((i, job)) = queue.next() {
            started_ms[i] = link.now_ms();
            link.send(
                w,
                &ToWorker::Job {
                    index: i as u32,
                    job,
                },
            )?;
            busy[w as usize] = Some(i as u32);
        }
    }
    outputs
        .into_iter()
        .enumerate()
        .map(|(i, o)| o.ok_or_else(|| RunError::Protocol(format!("job {i} never finished"))))
        .collect()
}

/// The summed fractions of the jobs under way (in worker order).
fn running_sum(within: &[f64], busy: &[Option<u32>]) -> f64 {
    busy.iter()
        .flatten()
        .map(|&i| within.get(i as usize).copied().unwrap_or(0.0))
        .sum()
}

/// One web worker for a page's one-off engine work that needs no run pool
/// (checking a report, reading model files), so that code lives in the
/// worker's wasm instead of the page's. The worker is kept between
/// requests; a worker that failed is dropped and the next request starts a
/// fresh one. A `Copy` handle.
#[derive(Clone, Copy)]
pub struct OneWorker {
    pool: StoredValue<Option<Pool>, LocalStorage>,
}

impl OneWorker {
    /// Starts the worker now (in the browser): it loads while the person
    /// reads the page, and nothing is fetched later (reading model files
    /// makes no request at all).
    pub fn started() -> OneWorker {
        let pool = if cfg!(target_arch = "wasm32") {
            Pool::spawn(1, Role::Service).ok()
        } else {
            None
        };
        OneWorker {
            pool: StoredValue::new_local(pool),
        }
    }

    /// Sends `message` and waits for the reply; a `Failed` reply becomes
    /// `Err(message)`, and so does a worker that could not start or died.
    pub async fn request(self, message: &ToWorker) -> Result<FromWorker, String> {
        let pool = self.pool.try_update_value(Option::take).flatten();
        let mut pool = match pool {
            Some(p) => p,
            None => Pool::spawn(1, Role::Service)?,
        };
        let reply = async {
            pool.wait_ready().await?;
            pool.send(0, message)?;
            loop {
                match pool.recv().await? {
                    (_, FromWorker::JobProgress { .. }) => continue,
                    reply => return Ok(reply),
                }
            }
        }
        .await;
        match reply {
            Ok((_, FromWorker::Failed { message })) => {
                self.pool.set_value(Some(pool));
                Err(message)
            }
            Ok((_, reply)) => {
                self.pool.set_value(Some(pool));
                Ok(reply)
            }
            Err(RunError::Worker { message, .. }) => Err(message),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Runs one [`Job`] in the worker.
    pub async fn job(self, job: Job) -> Result<JobOutput, String> {
        match self.request(&ToWorker::Job { index: 0, job }).await? {
            FromWorker::JobDone { output, .. } => Ok(output),
            other => Err(format!("the worker sent {other:?} for a job")),
        }
    }
}

impl Default for OneWorker {
    fn default() -> Self {
        Self::started()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::{block_on, LocalLink};
    use lab_core::experiment::scale::{self, ScaleConfig};
    use lab_core::experiment::sweep::{self, SweepConfig};

    fn scale_jobs(config: &ScaleConfig) -> Vec<Job> {
        config
            .sizes
            .iter()
            .map(|&nodes| Job::ScalePoint {
                config: config.clone(),
                nodes,
            })
            .collect()
    }

    #[test]
    fn scale_over_jobs_matches_native_with_any_worker_count() {
        let config = ScaleConfig {
            sizes: vec![2, 4, 8],
            dim: 2,
            orderings: 2,
            ..ScaleConfig::default()
        };
        let native = scale::run(&config).unwrap();
        for workers in [1, 2, 3] {
            let mut link = LocalLink::new(workers);
            let done =
                block_on(run_jobs(&mut link, scale_jobs(&config), &[], &mut |_| {})).unwrap();
            let points = done
                .into_iter()
                .map(|d| match d.output {
                    JobOutput::ScalePoint(p) => *p,
                    other => panic!("unexpected {other:?}"),
                })
                .collect();
            assert_eq!(
                scale::assemble(&config, points).fingerprint,
                native.fingerprint,
                "{workers} workers"
            );
        }
    }

    #[test]
    fn sweep_rows_over_jobs_match_native() {
        let config = SweepConfig {
            strategies: vec!["weight_average".into(), "ties".into()],
            ..SweepConfig::default()
        };
        let native = sweep::run(&config).unwrap();
        let jobs = config
            .selected()
            .into_iter()
            .map(|s| Job::SweepRow {
                config: config.clone(),
                strategy: s.to_string(),
            })
            .collect();
        let mut link = LocalLink::new(2);
        let rows = block_on(run_jobs(&mut link, jobs, &[], &mut |_| {}))
            .unwrap()
            .into_iter()
            .map(|d| match d.output {
                JobOutput::SweepRow(r) => *r,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            sweep::assemble(&config, rows).fingerprint,
            native.fingerprint
        );
    }

    #[test]
    fn a_failing_job_fails_the_run_in_words() {
        let config = ScaleConfig {
            sizes: vec![1],
            ..ScaleConfig::default()
        };
        let mut link = LocalLink::new(1);
        let err = block_on(run_jobs(&mut link, scale_jobs(&config), &[], &mut |_| {}))
            .err()
            .expect("an invalid size fails");
        assert!(matches!(err, RunError::Worker { .. }), "{err:?}");
    }

    #[test]
    fn progress_counts_every_job() {
        let config = ScaleConfig {
            sizes: vec![2, 3, 4, 5],
            dim: 1,
            orderings: 1,
            ..ScaleConfig::default()
        };
        let mut seen = Vec::new();
        let mut link = LocalLink::new(3);
        block_on(run_jobs(&mut link, scale_jobs(&config), &[], &mut |p| {
            seen.push(p.done)
        }))
        .unwrap();
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_trust_job_reports_every_round_and_the_bar_moves() {
        use lab_core::experiment::trust::{self, TrustConfig};
        let config = TrustConfig::default();
        let native = trust::run(&config).unwrap();
        let mut seen: Vec<JobProgress> = Vec::new();
        let mut link = LocalLink::new(2);
        let done = block_on(run_jobs(
            &mut link,
            vec![Job::Trust(config.clone())],
            &["trust run".into()],
            &mut |p| seen.push(p),
        ))
        .unwrap();
        let JobOutput::Trust(report) = &done[0].output else {
            panic!("not a trust report");
        };
        assert_eq!(report.fingerprint, native.fingerprint);
        let steps: Vec<u32> = seen
            .iter()
            .filter_map(|p| p.within.as_ref().map(|w| w.step))
            .collect();
        let rounds = native.results.rounds_run;
        assert_eq!(steps, (1..=rounds).collect::<Vec<_>>());
        let w = seen[1].within.as_ref().unwrap();
        assert_eq!((w.index, w.steps), (0, config.rounds_max));
        assert!(
            w.detail.starts_with("round 1 of at most 100"),
            "{}",
            w.detail
        );
        // The fraction grows within the job, then reaches 1.
        let fractions: Vec<f64> = seen.iter().map(JobProgress::fraction).collect();
        assert!(fractions.windows(2).all(|f| f[0] <= f[1]), "{fractions:?}");
        assert!(fractions[1] > 0.0);
        assert_eq!(*fractions.last().unwrap(), 1.0);
    }
}
