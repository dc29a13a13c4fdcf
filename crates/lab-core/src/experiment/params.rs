//! Experiment configs as URL query parameters (permalinks) — a small,
//! table-driven codec shared by every experiment. Reading never fails: an
//! invalid or out-of-range value falls back to its default and is reported
//! as a [`QueryIssue`] naming the parameter, so a bad link shows a message,
//! never a blank page.

use crate::error::ConfigError;
use serde::{Deserialize, Serialize};

/// Longest query value accepted.
pub const QUERY_VALUE_BYTES_MAX: usize = 256;
/// Most query pairs read.
pub const QUERY_PAIRS_MAX: usize = 64;

/// A parameter that could not be used, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryIssue {
    pub key: String,
    pub value: String,
    pub message: String,
}

enum Access<C: 'static> {
    U32 {
        get: fn(&C) -> u32,
        set: fn(&mut C, u32),
    },
    U64 {
        get: fn(&C) -> u64,
        set: fn(&mut C, u64),
    },
    Text {
        get: fn(&C) -> String,
        set: fn(&mut C, &str) -> Result<(), ConfigError>,
    },
}

/// One config field: its query key and how to read and write it.
pub struct Field<C: 'static> {
    pub key: &'static str,
    access: Access<C>,
}

impl<C> Field<C> {
    pub const fn u32(key: &'static str, get: fn(&C) -> u32, set: fn(&mut C, u32)) -> Field<C> {
        Field {
            key,
            access: Access::U32 { get, set },
        }
    }

    pub const fn u64(key: &'static str, get: fn(&C) -> u64, set: fn(&mut C, u64)) -> Field<C> {
        Field {
            key,
            access: Access::U64 { get, set },
        }
    }

    pub const fn text(
        key: &'static str,
        get: fn(&C) -> String,
        set: fn(&mut C, &str) -> Result<(), ConfigError>,
    ) -> Field<C> {
        Field {
            key,
            access: Access::Text { get, set },
        }
    }

    /// The field's current value as text.
    pub fn get(&self, c: &C) -> String {
        match &self.access {
            Access::U32 { get, .. } => get(c).to_string(),
            Access::U64 { get, .. } => get(c).to_string(),
            Access::Text { get, .. } => get(c),
        }
    }

    /// Parses and stores a value.
    pub fn set(&self, c: &mut C, value: &str) -> Result<(), String> {
        match &self.access {
            Access::U32 { set, .. } => {
                let v: u32 = value
                    .parse()
                    .map_err(|_| format!("'{value}' is not a whole number up to {}", u32::MAX))?;
                set(c, v);
                Ok(())
            }
            Access::U64 { set, .. } => {
                let v: u64 = value
                    .parse()
                    .map_err(|_| format!("'{value}' is not a non-negative whole number"))?;
                set(c, v);
                Ok(())
            }
            Access::Text { set, .. } => set(c, value).map_err(|e| e.to_string()),
        }
    }
}

/// A config as URL query pairs: the schema version `v=1`, the experiment
/// `exp=<name>`, then every field in `fields` order.
pub fn to_query<C>(experiment: &str, fields: &[Field<C>], config: &C) -> Vec<(String, String)> {
    let mut q = vec![
        ("v".to_string(), "1".to_string()),
        ("exp".to_string(), experiment.to_string()),
    ];
    q.extend(fields.iter().map(|f| (f.key.to_string(), f.get(config))));
    q
}

/// The query key a validation error is about, if it names one.
fn key_of(err: &ConfigError) -> Option<&'static str> {
    match err {
        ConfigError::OutOfRange { name, .. } => Some(name),
        ConfigError::FanoutTooLarge { .. } => Some("fanout"),
        ConfigError::UnknownStrategy(_) => Some("strategy"),
        ConfigError::UnknownProtocol(_) => Some("protocol"),
        ConfigError::Invalid(_) => None,
    }
}

/// Reads a config from query pairs: defaults, then each known key; invalid
/// values fall back to the default; then cross-field validation resets the
/// offending field (or, if none is named, everything) to defaults.
pub fn from_query<C: Default + Clone>(
    pairs: &[(String, String)],
    fields: &[Field<C>],
    validate: fn(&C) -> Result<(), ConfigError>,
) -> (C, Vec<QueryIssue>) {
    let defaults = C::default();
    let mut config = C::default();
    let mut issues = Vec::new();
    if pairs.len() > QUERY_PAIRS_MAX {
        issues.push(QueryIssue {
            key: "(query)".into(),
            value: format!("{} parameters", pairs.len()),
            message: format!("only the first {QUERY_PAIRS_MAX} parameters are read"),
        });
    }
    for (key, value) in pairs.iter().take(QUERY_PAIRS_MAX) {
        if key == "v" && value != "1" {
            issues.push(QueryIssue {
                key: key.clone(),
                value: value.clone(),
                message: "unknown link schema version (this lab reads v=1); values read as v=1"
                    .into(),
            });
        }
        let Some(field) = fields.iter().find(|f| f.key == key) else {
            continue;
        };
        if value.len() > QUERY_VALUE_BYTES_MAX {
            issues.push(issue(
                key,
                "(too long)",
                "value too long; default used".into(),
            ));
            continue;
        }
        if let Err(message) = field.set(&mut config, value) {
            issues.push(issue(key, value, format!("{message}; default used")));
        }
    }
    for _ in 0..=fields.len() {
        let Err(err) = validate(&config) else {
            return (config, issues);
        };
        match key_of(&err).and_then(|k| fields.iter().find(|f| f.key == k)) {
            Some(field) => {
                let bad = field.get(&config);
                let default = field.get(&defaults);
                field
                    .set(&mut config, &default)
                    .expect("a default value always parses");
                issues.push(issue(
                    field.key,
                    &bad,
                    format!("{err}; default {default} used"),
                ));
            }
            None => {
                issues.push(issue("(config)", "", format!("{err}; all defaults used")));
                return (defaults, issues);
            }
        }
    }
    issues.push(issue(
        "(config)",
        "",
        "no valid combination; all defaults used".into(),
    ));
    (defaults, issues)
}

fn issue(key: &str, value: &str, message: String) -> QueryIssue {
    QueryIssue {
        key: key.to_string(),
        value: value.to_string(),
        message,
    }
}

/// Parses a finite floating-point number (NaN and infinities are rejected).
pub fn parse_f64(v: &str) -> Result<f64, ConfigError> {
    v.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| ConfigError::Invalid(format!("'{v}' is not a finite number")))
}

/// Checks that `got` lies in `min..=max`, naming the field on error.
pub fn range(name: &'static str, got: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if got < min || got > max {
        return Err(ConfigError::OutOfRange {
            name,
            min,
            max,
            got,
        });
    }
    Ok(())
}

/// Checks a gossip fan-out: at least 1 and below the node count.
pub fn check_fanout(fanout: u32, nodes: u32) -> Result<(), ConfigError> {
    if fanout == 0 {
        return Err(ConfigError::OutOfRange {
            name: "fanout",
            min: 1,
            max: nodes as u64 - 1,
            got: 0,
        });
    }
    if fanout >= nodes {
        return Err(ConfigError::FanoutTooLarge { fanout, nodes });
    }
    Ok(())
}

/// The `protocol` field of a config with a `protocol: Protocol` member
/// (push, pull, push-pull or all-pairs, by name).
macro_rules! protocol_field {
    () => {
        $crate::experiment::params::Field::text(
            "protocol",
            |c| c.protocol.name().into(),
            |c, v| {
                c.protocol = v.parse()?;
                Ok(())
            },
        )
    };
}
pub(crate) use protocol_field;

/// A `FIELDS` table: the given fields, then the workload fields every
/// [`super::convergence::HasWorkload`] config shares — `workload`
/// (`gaussian` or `finetune`; model files cannot travel in a link) and the
/// fine-tune parameters `ft_rank`, `ft_scale`, `ft_sparsity`, `ft_overlap`,
/// `ft_noise`.
macro_rules! workload_fields {
    ($c:ty; $($field:expr),* $(,)?) => {{
        use $crate::experiment::convergence::workload_field as wf;
        use $crate::experiment::params::Field as F;
        &[
            $($field,)*
            F::text("workload", wf::get::<$c>, wf::set::<$c>),
            F::u32("ft_rank", wf::rank::<$c>, wf::set_rank::<$c>),
            F::text("ft_scale", wf::scale::<$c>, wf::set_scale::<$c>),
            F::text("ft_sparsity", wf::sparsity::<$c>, wf::set_sparsity::<$c>),
            F::text("ft_overlap", wf::overlap::<$c>, wf::set_overlap::<$c>),
            F::text("ft_noise", wf::noise::<$c>, wf::set_noise::<$c>),
        ]
    }};
}
pub(crate) use workload_fields;

/// Checks every experiment's codec the same way (unit tests only).
#[cfg(test)]
pub(crate) mod testing {
    use super::Field;
    use serde::Serialize;

    /// Owned query pairs from string slices.
    pub fn pairs(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Every serialized config field has a query key, and no key is extra
    /// (the `finetune` parameters are the `ft_*` keys; the fields of any
    /// other nested object, such as a trust run's `faults`, are keys of
    /// their own).
    pub fn assert_fields_cover<C: Serialize + Default>(fields: &[Field<C>]) {
        let json = serde_json::to_value(C::default()).unwrap();
        let mut names: Vec<&str> = json
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(k, v)| match (k.as_str(), v.as_object()) {
                ("finetune", _) => vec![
                    "ft_rank",
                    "ft_scale",
                    "ft_sparsity",
                    "ft_overlap",
                    "ft_noise",
                ],
                (_, Some(inner)) => inner.keys().map(String::as_str).collect(),
                (k, None) => vec![k],
            })
            .collect();
        names.sort_unstable();
        let mut keys: Vec<&str> = fields.iter().map(|f| f.key).collect();
        keys.sort_unstable();
        assert_eq!(keys, names);
    }
}
