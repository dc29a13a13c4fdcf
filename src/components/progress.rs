//! The progress bar: where the run is (in the page's words), how long it
//! has taken, and an estimate of the time left (elapsed × remaining ÷ done).

use crate::runner::RunClock;
use leptos::prelude::*;

/// The progress bar.
#[component]
pub fn ProgressBar(clock: Signal<Option<RunClock>>) -> impl IntoView {
    move || {
        clock.get().map(|c| {
            let fraction = c.status.as_ref().map_or(0.0, |s| s.fraction);
            let pct = (fraction * 100.0).round() as u32;
            let text = c
                .status
                .as_ref()
                .map_or_else(|| "starting the workers…".to_string(), |s| s.text.clone());
            view! {
                <div class="progress" data-testid="progress" role="status" aria-live="polite">
                    <div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=pct.to_string()>
                        <div class="fill" style=format!("width: {pct}%")></div>
                    </div>
                    <p class="progress-text">
                        {text}" · "{format_duration(c.elapsed_ms)}" elapsed"{eta_text(fraction, c.elapsed_ms)}
                    </p>
                </div>
            }
        })
    }
}

fn eta_text(fraction: f64, elapsed_ms: f64) -> String {
    if fraction <= 0.01 || fraction >= 1.0 {
        return String::new();
    }
    let left_ms = elapsed_ms * (1.0 - fraction) / fraction;
    format!(" · about {} left", format_duration(left_ms))
}

/// `1.2 s`, `45 s`, `3 min 20 s`.
pub fn format_duration(ms: f64) -> String {
    let s = ms / 1000.0;
    if ms < 1000.0 {
        format!("{} ms", ms.round())
    } else if s < 10.0 {
        format!("{s:.1} s")
    } else if s < 60.0 {
        format!("{} s", s.round())
    } else {
        let total = s.round() as u64;
        format!("{} min {} s", total / 60, total % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(12.4), "12 ms");
        assert_eq!(format_duration(1234.0), "1.2 s");
        assert_eq!(format_duration(45_000.0), "45 s");
        assert_eq!(format_duration(200_000.0), "3 min 20 s");
    }

    #[test]
    fn no_estimate_before_any_progress() {
        assert_eq!(eta_text(0.0, 5000.0), "");
        assert!(eta_text(0.5, 5000.0).contains("5.0 s"));
    }
}
