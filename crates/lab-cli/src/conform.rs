//! `lab-cli conform <dir> [--json]`: checks the reference-family strategies
//! against a folder of crdt-merge 0.9.5 conformance vectors (the layout of
//! `shared/vectors/`: `cases.json` plus one `<strategy>.json` per strategy)
//! and prints, per strategy, how many recorded calls matched exactly, within
//! the class tolerance, did not match, or were skipped.
//!
//! Exit status: 0 when nothing mismatched, 1 on any mismatch, 2 when the
//! input cannot be read (with a one-line reason on stderr).

use lab_core::conformance::{check_file, CaseSet, FileReport, Verdict};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of the `conform` subcommand.
#[derive(clap::Args, Debug)]
pub struct ConformArgs {
    /// Folder holding `cases.json` and the per-strategy vector files.
    pub dir: std::path::PathBuf,
    /// Print a JSON summary instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Files in a vector folder that are not per-strategy files.
const NOT_STRATEGY_FILES: &[&str] = &[
    "manifest.json",
    "cases.json",
    "python_random.json",
    "crdt_layer.json",
];

/// Runs the subcommand.
pub fn run(args: &ConformArgs) -> ExitCode {
    let reports = match check_dir(&args.dir) {
        Ok(r) => r,
        Err(reason) => {
            eprintln!("lab-cli conform: {reason}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    let printed = if args.json {
        writeln!(out, "{}", json_summary(&args.dir, &reports))
    } else {
        write_table(&mut out, &reports)
    };
    if let Err(e) = printed {
        eprintln!("lab-cli conform: cannot write output: {e}");
        return ExitCode::from(2);
    }
    if reports.iter().any(|r| r.mismatched > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Checks every per-strategy file of `dir`, in file-name order.
pub fn check_dir(dir: &Path) -> Result<Vec<FileReport>, String> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    let cases = CaseSet::parse(&read(&dir.join("cases.json"))?)
        .map_err(|e| format!("{}: {e}", dir.join("cases.json").display()))?;
    let mut reports = Vec::new();
    for path in strategy_files(dir)? {
        let report =
            check_file(&cases, &read(&path)?).map_err(|e| format!("{}: {e}", path.display()))?;
        reports.push(report);
    }
    if reports.is_empty() {
        return Err(format!("no strategy vector files in {}", dir.display()));
    }
    Ok(reports)
}

/// The `*.json` files of `dir` that are per-strategy files, sorted.
fn strategy_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".json") && !NOT_STRATEGY_FILES.contains(&name) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// One row per strategy, a totals row, then every mismatched or skipped
/// call with its reason.
fn write_table(out: &mut impl Write, reports: &[FileReport]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<24} {:>5} {:>6} {:>10} {:>10} {:>8} {:>14}",
        "strategy", "class", "exact", "tolerance", "mismatched", "skipped", "worst rel err"
    )?;
    for r in reports {
        writeln!(
            out,
            "{:<24} {:>5} {:>6} {:>10} {:>10} {:>8} {:>14.3e}",
            r.strategy,
            format!("{:?}", r.class),
            r.exact,
            r.within_tolerance,
            r.mismatched,
            r.skipped,
            r.worst_rel_error
        )?;
    }
    let sum = |f: fn(&FileReport) -> usize| reports.iter().map(f).sum::<usize>();
    writeln!(
        out,
        "{:<24} {:>5} {:>6} {:>10} {:>10} {:>8}",
        "total",
        "",
        sum(|r| r.exact),
        sum(|r| r.within_tolerance),
        sum(|r| r.mismatched),
        sum(|r| r.skipped)
    )?;
    for r in reports {
        for c in r.cases.iter().filter(|c| is_problem(c.verdict)) {
            writeln!(
                out,
                "{:?}: {} {}: {}",
                c.verdict, r.strategy, c.label, c.note
            )?;
        }
    }
    Ok(())
}

fn is_problem(v: Verdict) -> bool {
    matches!(v, Verdict::Mismatched | Verdict::Skipped)
}

/// Per-strategy counts, totals, and the mismatched/skipped calls.
fn json_summary(dir: &Path, reports: &[FileReport]) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            let problems: Vec<_> = r.cases.iter().filter(|c| is_problem(c.verdict)).collect();
            serde_json::json!({
                "strategy": r.strategy,
                "class": r.class,
                "exact": r.exact,
                "within_tolerance": r.within_tolerance,
                "mismatched": r.mismatched,
                "skipped": r.skipped,
                "worst_rel_error": r.worst_rel_error,
                "problems": problems,
            })
        })
        .collect();
    let sum = |f: fn(&FileReport) -> usize| reports.iter().map(f).sum::<usize>();
    serde_json::json!({
        "dir": dir.display().to_string(),
        "strategies": rows,
        "totals": {
            "exact": sum(|r| r.exact),
            "within_tolerance": sum(|r| r.within_tolerance),
            "mismatched": sum(|r| r.mismatched),
            "skipped": sum(|r| r.skipped),
        },
        "ok": reports.iter().all(|r| r.mismatched == 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../lab-core/tests/data/vectors")
    }

    #[test]
    fn the_shipped_vectors_conform() {
        let reports = check_dir(&vectors()).unwrap();
        assert_eq!(reports.len(), 26);
        assert!(reports.iter().all(|r| r.mismatched == 0));
        let mut table = Vec::new();
        write_table(&mut table, &reports).unwrap();
        let text = String::from_utf8(table).unwrap();
        assert!(text.contains("weight_average") && text.contains("total"));
        let json = json_summary(&vectors(), &reports);
        assert_eq!(json["ok"], serde_json::Value::Bool(true));
        assert_eq!(json["strategies"].as_array().unwrap().len(), 26);
    }

    #[test]
    fn unreadable_input_is_an_error() {
        let missing = PathBuf::from("/nonexistent/vectors");
        assert!(check_dir(&missing).unwrap_err().contains("cannot read"));
    }
}
