//! Downloads as plain strings: the results table as CSV (the JSON report is
//! `serde_json::to_string_pretty(&report)`, exactly as `lab-cli --json`).

use lab_core::experiment::convergence::ConvergenceReport;

/// The CSV header, one column per results-table column.
pub const CSV_HEADER: &str = "ordering,converged,rounds,messages,joins,joins_changed,metadata_bytes,tensor_bytes,distinct_state_digests,distinct_resolved_digests,visible_min,state_digest,resolved_digest";

/// The per-ordering results as CSV (RFC 4180; no field needs quoting).
pub fn results_csv(report: &ConvergenceReport) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push_str("\r\n");
    for o in &report.results.orderings {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            o.ordering,
            o.converged,
            o.rounds,
            o.messages,
            o.joins,
            o.joins_changed,
            o.metadata_bytes,
            o.tensor_bytes,
            o.distinct_state_digests,
            o.distinct_resolved_digests,
            o.visible_min,
            o.state_digest,
            o.resolved_digest
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_core::experiment::convergence::{run, ConvergenceConfig};

    #[test]
    fn one_row_per_ordering() {
        let config = ConvergenceConfig {
            nodes: 4,
            dim: 2,
            orderings: 2,
            ..ConvergenceConfig::default()
        };
        let csv = results_csv(&run(&config).unwrap());
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines
            .iter()
            .all(|l| l.split(',').count() == CSV_HEADER.split(',').count()));
    }
}
