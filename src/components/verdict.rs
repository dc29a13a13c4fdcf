//! The verdict: PASS or FAIL in large type, then every check and its detail.

use lab_core::report::Verdict;
use leptos::prelude::*;

/// The verdict panel of a finished run.
#[component]
pub fn VerdictPanel(
    verdict: Verdict,
    /// What PASS means for this experiment.
    #[prop(
        default = "Every node, in every ordering, ends with a bit-identical state and merged model."
    )]
    pass_text: &'static str,
    /// What FAIL means for this experiment.
    #[prop(default = "Some nodes did not end bit-identical — see the failed checks.")]
    fail_text: &'static str,
) -> impl IntoView {
    let passed = verdict.passed;
    let (word, summary) = if passed {
        ("PASS", pass_text)
    } else {
        ("FAIL", fail_text)
    };
    view! {
        <section
            class="verdict"
            class:pass=passed
            class:fail=!passed
            data-testid="verdict"
            data-passed=passed.to_string()
            aria-labelledby="verdict-word"
        >
            <p class="verdict-word" id="verdict-word">
                <span aria-hidden="true">{if passed { "✓ " } else { "✗ " }}</span>
                {word}
            </p>
            <p class="verdict-summary">{summary}</p>
            <ul class="checks">
                {verdict
                    .checks
                    .into_iter()
                    .map(|c| {
                        view! {
                            <li class:ok=c.passed class:bad=!c.passed>
                                <span class="mark" aria-hidden="true">{if c.passed { "✓" } else { "✗" }}</span>
                                <span class="sr-only">{if c.passed { "passed: " } else { "failed: " }}</span>
                                <strong>{c.name}</strong>
                                <span class="detail">{c.detail}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}
