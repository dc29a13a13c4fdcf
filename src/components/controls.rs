//! The run controls of every experiment page: labelled fields described by
//! [`FieldSpec`]s, an "Advanced" group, Run and Cancel. Fields hold raw
//! text; a config is only built (and checked, in words) by the page when
//! the user presses Run, through the same codec as the URL.

use lab_core::experiment::params::{Field, QueryIssue};
use lab_core::sim::Protocol;
use leptos::prelude::*;

/// The form's raw text, one signal per config field (same keys as the URL,
/// in the engine's `FIELDS` order).
#[derive(Clone, Copy)]
pub struct Form {
    fields: StoredValue<Vec<(&'static str, RwSignal<String>)>>,
}

impl Form {
    /// A form showing `config`, one field per entry of the codec `fields`.
    pub fn new<C>(fields: &'static [Field<C>], config: &C) -> Form {
        let fields = fields
            .iter()
            .map(|f| (f.key, RwSignal::new(f.get(config))))
            .collect();
        Form {
            fields: StoredValue::new(fields),
        }
    }

    /// The signal of the field with URL key `key`.
    pub fn field(&self, key: &str) -> RwSignal<String> {
        self.fields.with_value(|v| {
            v.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, s)| *s)
                .unwrap_or_else(|| panic!("no config field '{key}'"))
        })
    }

    /// The form as query pairs (tracked, so memos follow the form).
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.fields.with_value(|v| {
            v.iter()
                .map(|(k, s)| (k.to_string(), s.get().trim().to_string()))
                .collect()
        })
    }

    /// Keys of every field, in order.
    pub fn keys(&self) -> Vec<&'static str> {
        self.fields
            .with_value(|v| v.iter().map(|(k, _)| *k).collect())
    }
}

/// What kind of widget a field gets.
#[derive(Clone)]
pub enum Widget {
    /// A whole number (numeric keypad).
    Number,
    /// A decimal number.
    Decimal,
    /// Free text (lists, phase specs).
    Text,
    /// A select over `(value, label)` choices.
    Choice(Vec<(String, String)>),
}

/// One field of the controls.
#[derive(Clone)]
pub struct FieldSpec {
    pub key: &'static str,
    pub label: &'static str,
    pub hint: Signal<String>,
    pub widget: Widget,
}

impl FieldSpec {
    pub fn number(key: &'static str, label: &'static str, hint: impl Into<Signal<String>>) -> Self {
        FieldSpec {
            key,
            label,
            hint: hint.into(),
            widget: Widget::Number,
        }
    }

    pub fn decimal(
        key: &'static str,
        label: &'static str,
        hint: impl Into<Signal<String>>,
    ) -> Self {
        FieldSpec {
            widget: Widget::Decimal,
            ..FieldSpec::number(key, label, hint)
        }
    }

    pub fn text(key: &'static str, label: &'static str, hint: impl Into<Signal<String>>) -> Self {
        FieldSpec {
            widget: Widget::Text,
            ..FieldSpec::number(key, label, hint)
        }
    }

    pub fn choice(
        key: &'static str,
        label: &'static str,
        choices: &[(&str, &str)],
        hint: impl Into<Signal<String>>,
    ) -> Self {
        FieldSpec {
            widget: Widget::Choice(
                choices
                    .iter()
                    .map(|(v, l)| (v.to_string(), l.to_string()))
                    .collect(),
            ),
            ..FieldSpec::number(key, label, hint)
        }
    }
}

/// The controls. `on_run` and `on_cancel` are the page's actions; every
/// form key not in `main` or `advanced` gets a plain text field under
/// "Advanced", so no config field is ever unreachable.
#[component]
pub fn Controls(
    form: Form,
    main: Vec<FieldSpec>,
    #[prop(optional)] advanced: Vec<FieldSpec>,
    running: Signal<bool>,
    issues: Signal<Vec<QueryIssue>>,
    on_run: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let mut advanced = advanced;
    for key in form.keys() {
        if !main.iter().chain(&advanced).any(|f| f.key == key) {
            advanced.push(FieldSpec::text(key, key, String::new()));
        }
    }
    let has_advanced = !advanced.is_empty();
    view! {
        <form class="controls" on:submit=move |ev| {
            ev.prevent_default();
            on_run.run(());
        }>
            <fieldset disabled=move || running.get()>
                <legend>"Configuration"</legend>
                <div class="fields">{main.into_iter().map(|f| field_view(form, f)).collect_view()}</div>
                {has_advanced.then(|| view! {
                    <details class="advanced">
                        <summary>"Advanced"</summary>
                        <div class="fields">{advanced.into_iter().map(|f| field_view(form, f)).collect_view()}</div>
                    </details>
                })}
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

fn field_view(form: Form, spec: FieldSpec) -> AnyView {
    let value = form.field(spec.key);
    let id = format!("f-{}", spec.key);
    let hint_id = format!("{id}-hint");
    let hint = spec.hint;
    let input = match spec.widget {
        Widget::Choice(choices) => {
            let options = choices
                .into_iter()
                .map(|(v, text)| {
                    let selected_v = v.clone();
                    view! { <option value=v selected=move || value.get() == selected_v>{text}</option> }
                })
                .collect_view();
            view! {
                <select id=id.clone() name=spec.key aria-describedby=hint_id.clone() on:change=move |ev| value.set(event_target_value(&ev))>
                    {options}
                </select>
            }
            .into_any()
        }
        widget => {
            // Text, not `type=number`, so what the user typed is kept and
            // checked in words; `inputmode` picks the phone keypad.
            let mode = match widget {
                Widget::Number => "numeric",
                Widget::Decimal => "decimal",
                _ => "text",
            };
            view! {
                <input
                    id=id.clone()
                    name=spec.key
                    type="text"
                    inputmode=mode
                    autocomplete="off"
                    spellcheck="false"
                    aria-describedby=hint_id.clone()
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                />
            }
            .into_any()
        }
    };
    view! {
        <div class="field">
            <label for=id>{spec.label}</label>
            {input}
            <small id=hint_id class="hint">{move || hint.get()}</small>
        </div>
    }
    .into_any()
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

/// The gossip protocols as select choices.
pub fn protocol_choices() -> Vec<(&'static str, &'static str)> {
    Protocol::ALL
        .iter()
        .map(|p| {
            let label = match p {
                Protocol::AllPairs => "all-pairs",
                Protocol::Push => "push",
                Protocol::Pull => "pull",
                Protocol::PushPull => "push-pull",
            };
            (p.name(), label)
        })
        .collect()
}

/// A protocol field with a hint saying what the chosen protocol does.
pub fn protocol_field(form: Form) -> FieldSpec {
    let hint = Signal::derive(move || {
        let text = match form.field("protocol").get().as_str() {
            "all-pairs" => "each node merges every other node, in turn",
            "push" => "each node sends its state to fan-out peers",
            "pull" => "each node asks fan-out peers for theirs",
            "push-pull" => "contacted pairs exchange states",
            _ => "",
        };
        text.to_string()
    });
    FieldSpec::choice("protocol", "Protocol", &protocol_choices(), hint)
}

/// A strategy field listing every registered strategy, with its summary.
pub fn strategy_field(form: Form) -> FieldSpec {
    let hint = Signal::derive(move || {
        let name = form.field("strategy").get();
        lab_core::strategy::find(&name).map_or(String::new(), |s| s.info().summary.to_string())
    });
    let names: Vec<(&str, &str)> = lab_core::strategy::registry()
        .map(|s| (s.info().name, s.info().name))
        .collect();
    FieldSpec::choice("strategy", "Strategy (Layer 2)", &names, hint)
}

/// A fan-out field whose hint follows the `nodes` field.
pub fn fanout_field(form: Form, nodes_max: u32) -> FieldSpec {
    let hint = Signal::derive(move || {
        let max = form
            .field("nodes")
            .get()
            .trim()
            .parse::<u32>()
            .map_or(nodes_max - 1, |n| n.saturating_sub(1).max(1));
        format!("1…{max}")
    });
    FieldSpec::number("fanout", "Fan-out", hint)
}

/// The workload fields every experiment shares (the engine's `workload` and
/// `ft_*` keys): a workload select — synthetic fine-tunes (the default) or
/// the seed lab's Gaussian tensors — and the fine-tune parameters. Model
/// files are chosen with the real-weights picker, not here.
pub fn workload_fields() -> Vec<FieldSpec> {
    vec![
        FieldSpec::choice(
            "workload",
            "Workload",
            &[
                ("finetune", "synthetic fine-tunes"),
                ("gaussian", "Gaussian tensors (seed lab)"),
            ],
            String::new(),
        ),
        FieldSpec::number(
            "ft_rank",
            "Fine-tune: rank",
            "task-vector rank, 1…256 (capped at dim)".to_string(),
        ),
        FieldSpec::decimal(
            "ft_scale",
            "Fine-tune: scale",
            "task-vector size".to_string(),
        ),
        FieldSpec::decimal(
            "ft_sparsity",
            "Fine-tune: sparsity",
            "share of zeros".to_string(),
        ),
        FieldSpec::decimal(
            "ft_overlap",
            "Fine-tune: overlap",
            "shared directions".to_string(),
        ),
        FieldSpec::decimal(
            "ft_noise",
            "Fine-tune: noise",
            "per-model noise".to_string(),
        ),
    ]
}
