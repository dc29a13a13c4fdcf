//! Numbers in words for the benchmark and overview pages, and the CSV of
//! the benchmark rows. Presentation only: every value comes from a row.

use super::measure::{Comparison, Row};
use crate::components::progress::format_duration;
use crate::components::results::csv_field;

/// `1.23 M/s`, `45.6 K/s`, `789/s` (three significant digits).
pub fn rate_text(per_s: Option<f64>) -> String {
    match per_s {
        None => "—".into(),
        Some(r) => format!("{}/s", si(r)),
    }
}

/// `1.23 M`, `45.6 K`, `789`, `0.51`.
pub fn si(v: f64) -> String {
    let (scaled, suffix) = if v >= 1e9 {
        (v / 1e9, " G")
    } else if v >= 1e6 {
        (v / 1e6, " M")
    } else if v >= 1e3 {
        (v / 1e3, " K")
    } else {
        (v, "")
    };
    format!("{}{suffix}", sig3(scaled))
}

/// Three significant digits, no exponent.
pub fn sig3(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.01 {
        format!("{v:.3}")
    } else if a == 0.0 {
        "0".into()
    } else {
        format!("{v:.2e}")
    }
}

/// Time per operation: `0.35 µs`, `41 µs`, `2.1 ms`, `1.4 s`.
pub fn per_op_text(us: Option<f64>) -> String {
    match us {
        None => "—".into(),
        Some(us) if us < 1000.0 => format!("{} µs", sig3(us)),
        Some(us) if us < 1_000_000.0 => format!("{} ms", sig3(us / 1000.0)),
        Some(us) => format!("{} s", sig3(us / 1e6)),
    }
}

/// An elapsed time: `412 ms`, `3.2 s`.
pub fn elapsed_text(ms: f64) -> String {
    if ms <= 0.0 {
        "—".into()
    } else if ms < 10.0 {
        format!("{} ms", sig3(ms))
    } else {
        format_duration(ms)
    }
}

/// `3.5× faster`, `0.42× (slower)`; for a target: `meets (3.5× under)`.
pub fn speedup_text(c: &Comparison) -> String {
    match c.speedup {
        None => "—".into(),
        Some(s) if c.target => {
            if s >= 1.0 {
                format!("meets it ({}× under)", sig3(s))
            } else {
                format!("misses it ({}× over)", sig3(1.0 / s))
            }
        }
        Some(s) if s >= 1.0 => format!("{}× faster", sig3(s)),
        Some(s) => format!("{}× (slower)", sig3(s)),
    }
}

/// The rows as CSV (numbers unformatted, empty where there is none).
pub fn rows_csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "id,section,operation,unit,workers,ops,elapsed_ms,rate_per_s,per_op_us,compared_with,their_value,speedup,is_target,note\r\n",
    );
    let num = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
    for r in rows {
        let c = r.comparison.as_ref();
        let fields = [
            csv_field(&r.id),
            csv_field(r.section.title()),
            csv_field(&r.operation),
            csv_field(&r.unit),
            r.workers.to_string(),
            r.ops.to_string(),
            format!("{}", r.elapsed_ms),
            num(r.rate_per_s),
            num(r.per_op_us()),
            csv_field(c.map_or("", |c| c.against.as_str())),
            csv_field(c.map_or("", |c| c.value.as_str())),
            num(c.and_then(|c| c.speedup)),
            c.map_or(String::new(), |c| c.target.to_string()),
            csv_field(&r.note),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(si(1_234_567.0), "1.23 M");
        assert_eq!(si(45_600.0), "45.6 K");
        assert_eq!(si(789.0), "789");
        assert_eq!(rate_text(None), "—");
        assert_eq!(per_op_text(Some(0.351)), "0.351 µs");
        assert_eq!(per_op_text(Some(2100.0)), "2.10 ms");
        let c = Comparison {
            against: String::new(),
            value: String::new(),
            speedup: Some(0.5),
            target: true,
        };
        assert_eq!(speedup_text(&c), "misses it (2.00× over)");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }
}
