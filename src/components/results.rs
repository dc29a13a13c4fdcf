//! The per-ordering results table.

use lab_core::experiment::convergence::OrderingResult;
use leptos::prelude::*;

/// Characters of a digest shown in the table (the full hex is the tooltip).
const DIGEST_SHOWN: usize = 12;

/// One row per ordering.
#[component]
pub fn ResultsTable(orderings: Vec<OrderingResult>) -> impl IntoView {
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Results per ordering (scrolls sideways)">
            <table class="results" data-testid="results">
                <thead>
                    <tr>
                        <th scope="col">"Ordering"</th>
                        <th scope="col">"Converged"</th>
                        <th scope="col" class="num">"Rounds"</th>
                        <th scope="col" class="num">"Messages"</th>
                        <th scope="col" class="num">"Joins"</th>
                        <th scope="col" class="num">"Metadata bytes"</th>
                        <th scope="col" class="num">"Tensor bytes"</th>
                        <th scope="col" class="num">"Distinct states"</th>
                        <th scope="col">"State digest"</th>
                        <th scope="col">"Model digest"</th>
                    </tr>
                </thead>
                <tbody>{orderings.into_iter().map(row).collect_view()}</tbody>
            </table>
        </div>
    }
}

fn row(o: OrderingResult) -> impl IntoView {
    view! {
        <tr>
            <th scope="row">{o.ordering}</th>
            <td class:bad=!o.converged>{if o.converged { "yes" } else { "no" }}</td>
            <td class="num">{group(o.rounds as u64)}</td>
            <td class="num">{group(o.messages)}</td>
            <td class="num">{group(o.joins)}</td>
            <td class="num">{group(o.metadata_bytes)}</td>
            <td class="num">{group(o.tensor_bytes)}</td>
            <td class="num" class:bad=o.distinct_state_digests != 1>{o.distinct_state_digests}</td>
            <td><code title=o.state_digest.clone()>{short(&o.state_digest)}</code></td>
            <td><code title=o.resolved_digest.clone()>{short(&o.resolved_digest)}</code></td>
        </tr>
    }
}

/// The first characters of a hex digest, for tables (the full hex belongs
/// in the tooltip).
pub fn short(hex: &str) -> String {
    hex.chars().take(DIGEST_SHOWN).collect()
}

/// A CSV field, quoted when it needs to be (RFC 4180).
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// `1234567` → `1 234 567` (thin spaces: readable, locale-neutral).
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_234_567), "1\u{202f}234\u{202f}567");
    }
}
