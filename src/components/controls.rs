//! The run controls: one labelled field per config field, Run and Cancel.
//! Fields hold raw text; a config is only built (and checked, in words) by
//! [`crate::query::config_from_pairs`] when the user presses Run.

use crate::query::{DIM_BROWSER_MAX, NODES_BROWSER_MAX, ORDERINGS_BROWSER_MAX};
use lab_core::experiment::convergence::{ConvergenceConfig, FIELDS};
use lab_core::experiment::params::QueryIssue;
use lab_core::sim::Protocol;
use leptos::prelude::*;

/// The form's raw text, one signal per config field (same keys as the URL,
/// in the engine's `FIELDS` order, so new config fields appear by themselves).
#[derive(Clone, Copy)]
pub struct Form {
    fields: StoredValue<Vec<RwSignal<String>>>,
}

/// Fields shown in the main grid; every other config field is "Advanced".
const MAIN_FIELDS: [&str; 7] = [
    "nodes",
    "dim",
    "orderings",
    "protocol",
    "fanout",
    "strategy",
    "seed",
];

impl Form {
    /// A form showing `config`.
    pub fn new(config: &ConvergenceConfig) -> Form {
        let fields = FIELDS
            .iter()
            .map(|f| RwSignal::new(f.get(config)))
            .collect();
        Form {
            fields: StoredValue::new(fields),
        }
    }

    /// The signal of the field with URL key `key`.
    pub fn field(&self, key: &str) -> RwSignal<String> {
        let i = FIELDS
            .iter()
            .position(|f| f.key == key)
            .unwrap_or_else(|| panic!("no config field '{key}'"));
        self.fields.with_value(|v| v[i])
    }

    /// The form as query pairs (tracked, so memos follow the form).
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.fields.with_value(|v| {
            FIELDS
                .iter()
                .zip(v)
                .map(|(f, s)| (f.key.to_string(), s.get().trim().to_string()))
                .collect()
        })
    }
}

/// The controls. `on_run` and `on_cancel` are the page's actions.
#[component]
pub fn Controls(
    form: Form,
    running: Signal<bool>,
    issues: Signal<Vec<QueryIssue>>,
    on_run: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let fanout_max = move || {
        form.field("nodes")
            .get()
            .trim()
            .parse::<u32>()
            .map_or(NODES_BROWSER_MAX - 1, |n| n.saturating_sub(1).max(1))
    };
    view! {
        <form class="controls" on:submit=move |ev| {
            ev.prevent_default();
            on_run.run(());
        }>
            <fieldset disabled=move || running.get()>
                <legend>"Configuration"</legend>
                <div class="fields">
                    <NumberField form key="nodes" label="Nodes" hint=format!("2…{NODES_BROWSER_MAX}")/>
                    <NumberField form key="dim" label="Tensor side (dim × dim)" hint=format!("1…{DIM_BROWSER_MAX}")/>
                    <NumberField form key="orderings" label="Orderings" hint=format!("1…{ORDERINGS_BROWSER_MAX}")/>
                    <ChoiceField form key="protocol" label="Protocol" choices=protocol_choices() hint=protocol_hint(form)/>
                    <NumberField form key="fanout" label="Fan-out" hint=Signal::derive(move || format!("1…{}", fanout_max()))/>
                    <ChoiceField form key="strategy" label="Strategy (Layer 2)" choices=strategy_choices() hint=strategy_hint(form)/>
                    <NumberField form key="seed" label="Seed" hint="0…2⁵³−1"/>
                </div>
                <details class="advanced">
                    <summary>"Advanced"</summary>
                    <div class="fields">
                        {FIELDS
                            .iter()
                            .filter(|f| !MAIN_FIELDS.contains(&f.key))
                            .map(|f| advanced_field(form, f.key))
                            .collect_view()}
                    </div>
                </details>
            </fieldset>
            <FormIssues issues/>
            <div class="actions">
                <button type="submit" class="primary" data-testid="run" disabled=move || running.get()>
                    "Run"
                </button>
                <button
                    type="button"
                    data-testid="cancel"
                    disabled=move || !running.get()
                    on:click=move |_| on_cancel.run(())
                >
                    "Cancel"
                </button>
            </div>
        </form>
    }
}

/// The widget of an advanced field: a select where the values are a fixed
/// set, a text field otherwise (checked in words on Run, like the others).
fn advanced_field(form: Form, key: &'static str) -> AnyView {
    let choices = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(v, l)| (v.to_string(), l.to_string()))
            .collect()
    };
    let choice = |label, pairs: &[(&str, &str)]| {
        view! { <ChoiceField form key label choices=choices(pairs)/> }.into_any()
    };
    match key {
        "resolve" => choice(
            "Resolve",
            &[
                ("every-node", "every node"),
                ("once-per-state", "once per distinct state"),
            ],
        ),
        "policy" => choice(
            "Conflict policy",
            &[("lww", "last writer wins"), ("fww", "first writer wins")],
        ),
        "anti_entropy" => choice(
            "Anti-entropy",
            &[("full", "full state"), ("delta", "deltas (request/reply)")],
        ),
        "workload" => choice(
            "Workload",
            &[
                ("gaussian", "Gaussian tensors"),
                ("finetune", "synthetic fine-tunes"),
            ],
        ),
        _ => {
            let (label, hint) = advanced_label(key);
            let decimal = key.starts_with("ft_") && key != "ft_rank";
            view! { <NumberField form key label hint=hint.to_string() decimal/> }.into_any()
        }
    }
}

/// Label and hint of a free-form advanced field.
fn advanced_label(key: &'static str) -> (&'static str, &'static str) {
    match key {
        "rounds_max" => ("Rounds at most", "1…10,000"),
        "ft_rank" => ("Fine-tune: rank", "task-vector rank"),
        "ft_scale" => ("Fine-tune: scale", "task-vector size"),
        "ft_sparsity" => ("Fine-tune: sparsity", "share of zeros"),
        "ft_overlap" => ("Fine-tune: overlap", "shared directions"),
        "ft_noise" => ("Fine-tune: noise", "per-model noise"),
        _ => (key, ""),
    }
}

/// A text field for a whole number (text, not `type=number`, so what the
/// user typed is kept and checked in words).
#[component]
fn NumberField(
    form: Form,
    key: &'static str,
    label: &'static str,
    #[prop(into)] hint: Signal<String>,
    /// A decimal number (phones show a keypad with a decimal point).
    #[prop(optional)]
    decimal: bool,
) -> impl IntoView {
    let value = form.field(key);
    let id = format!("f-{key}");
    let hint_id = format!("{id}-hint");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=key
                type="text"
                inputmode=if decimal { "decimal" } else { "numeric" }
                autocomplete="off"
                aria-describedby=hint_id.clone()
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            <small id=hint_id class="hint">{move || hint.get()}</small>
        </div>
    }
}

/// A select over fixed `(value, label)` choices, with an optional hint.
#[component]
fn ChoiceField(
    form: Form,
    key: &'static str,
    label: &'static str,
    choices: Vec<(String, String)>,
    #[prop(into, optional)] hint: Signal<String>,
) -> impl IntoView {
    let value = form.field(key);
    let id = format!("f-{key}");
    let hint_id = format!("{id}-hint");
    let options = choices
        .into_iter()
        .map(|(v, text)| {
            let selected_v = v.clone();
            view! { <option value=v selected=move || value.get() == selected_v>{text}</option> }
        })
        .collect_view();
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id name=key aria-describedby=hint_id.clone() on:change=move |ev| value.set(event_target_value(&ev))>
                {options}
            </select>
            <small id=hint_id class="hint">{move || hint.get()}</small>
        </div>
    }
}

/// Problems with the form's values, each naming its field.
#[component]
fn FormIssues(issues: Signal<Vec<QueryIssue>>) -> impl IntoView {
    move || {
        let issues = issues.get();
        (!issues.is_empty()).then(|| {
            view! {
                <div class="notice error" role="alert" data-testid="form-issues">
                    <p>"Please fix these fields before running:"</p>
                    <ul>
                        {issues
                            .into_iter()
                            .map(|i| view! { <li><strong>{i.key}</strong>": "{i.message}</li> })
                            .collect_view()}
                    </ul>
                </div>
            }
        })
    }
}

fn protocol_choices() -> Vec<(String, String)> {
    Protocol::ALL
        .iter()
        .map(|p| {
            let label = match p {
                Protocol::AllPairs => "all-pairs",
                Protocol::Push => "push",
                Protocol::Pull => "pull",
                Protocol::PushPull => "push-pull",
            };
            (p.name().to_string(), label.to_string())
        })
        .collect()
}

fn protocol_hint(form: Form) -> Signal<String> {
    Signal::derive(move || {
        let text = match form.field("protocol").get().as_str() {
            "all-pairs" => "each node merges every other node, in turn",
            "push" => "each node sends its state to fan-out peers",
            "pull" => "each node asks fan-out peers for theirs",
            "push-pull" => "contacted pairs exchange states",
            _ => "",
        };
        text.to_string()
    })
}

fn strategy_hint(form: Form) -> Signal<String> {
    Signal::derive(move || {
        let name = form.field("strategy").get();
        lab_core::strategy::find(&name).map_or(String::new(), |s| s.info().summary.to_string())
    })
}

fn strategy_choices() -> Vec<(String, String)> {
    lab_core::strategy::registry()
        .map(|s| (s.info().name.to_string(), s.info().name.to_string()))
        .collect()
}
