//! Real model weights for Experiments 1–4 (convergence, partition, sweep,
//! scale): the panel where a person drops (or picks) two or more
//! `.safetensors` files, an optional base model, chooses a tensor common to
//! all of them (and a slice of it if it is large), and the glue that puts
//! them in a run's config and sends the loaded tensors to the workers.
//!
//! Files are read with `File.arrayBuffer()` and handed to a web worker of
//! this page (so the loader's code is not in the page's wasm), which parses
//! them with the same `lab_core` loader `lab-cli` uses and keeps them;
//! nothing is uploaded and no request is made (the shipped sample is the one exception: it is fetched
//! from this site when the person asks for it). A selection is loaded all or
//! nothing: on any error the message names the file and the problem, and
//! what was loaded before is dropped, so a run never merges something other
//! than what the panel shows.

use crate::components::results::group;
use crate::coordinator::{Link, RunError};
use crate::jobs::OneWorker;
use crate::protocol::{FromWorker, NamedBytes, ToWorker};
use crate::query::WORKLOAD_ELEMENTS_BROWSER_MAX;
use lab_core::error::ConfigError;
use lab_core::experiment::convergence::{
    FileTensors, FileWorkload, HasWorkload, WorkloadKind, FILES_MAX,
};
use lab_core::experiment::params::QueryIssue;
use lab_core::loader::{self, Limits, Slice, BROWSER_ELEMENTS_MAX, BROWSER_FILE_BYTES_MAX};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::sync::Arc;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Where the shipped sample lives, relative to the page.
const SAMPLE_DIR: &str = "public/samples/";
/// The shipped sample: two checkpoints of the Silero VAD 16 kHz model
/// (silero-vad 6.2.3 on PyPI, MIT licence; see public/samples/README.md).
const SAMPLE_FILES: [&str; 2] = [
    "silero-vad-6.2.3-16k.safetensors",
    "silero-vad-6.2.3-jit-16k.safetensors",
];
/// The tensor the sample opens on (the LSTM's recurrent weights, 512 × 128).
const SAMPLE_TENSOR: &str = "lstm_cell.weight_hh";

/// A file read into memory.
type Picked = NamedBytes;

/// One entry of the tensor picker.
pub use crate::protocol::TensorChoice;

/// Per-tensor element limit in the browser for `files` files (plus a base
/// or the zero base): a worker holds all of them.
pub fn browser_limits(files: usize) -> Limits {
    let per_tensor = WORKLOAD_ELEMENTS_BROWSER_MAX / (files as u64 + 1);
    Limits {
        file_bytes_max: BROWSER_FILE_BYTES_MAX,
        elements_max: BROWSER_ELEMENTS_MAX.min(per_tensor as usize),
    }
}

/// A loaded selection: what the config records, and the tensors.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub workload: FileWorkload,
    pub tensors: Arc<FileTensors>,
}

/// The panel's state. Every field is a `Copy` handle, so `Weights` moves
/// into any closure.
#[derive(Clone, Copy)]
pub struct Weights {
    /// The worker that parses the files and keeps them.
    worker: OneWorker,
    /// (name, bytes) of the contributed files, for display.
    file_names: RwSignal<Vec<(String, u64)>>,
    base_name: RwSignal<Option<(String, u64)>>,
    choices: RwSignal<Vec<TensorChoice>>,
    tensor: RwSignal<String>,
    slice_on: RwSignal<bool>,
    slice_kind: RwSignal<String>,
    slice_start: RwSignal<String>,
    slice_end: RwSignal<String>,
    loaded: RwSignal<Option<Loaded>>,
    /// The person wants the next run to merge the files.
    use_files: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    note: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
}

impl Default for Weights {
    fn default() -> Self {
        Self::new()
    }
}

impl Weights {
    pub fn new() -> Weights {
        Weights {
            worker: OneWorker::started(),
            file_names: RwSignal::new(Vec::new()),
            base_name: RwSignal::new(None),
            choices: RwSignal::new(Vec::new()),
            tensor: RwSignal::new(String::new()),
            slice_on: RwSignal::new(false),
            slice_kind: RwSignal::new("rows".into()),
            slice_start: RwSignal::new("0".into()),
            slice_end: RwSignal::new(String::new()),
            loaded: RwSignal::new(None),
            use_files: RwSignal::new(false),
            error: RwSignal::new(None),
            note: RwSignal::new(None),
            busy: RwSignal::new(false),
        }
    }

    /// What the next run should merge: `Ok(None)` for the synthetic
    /// workload, `Err` when files are wanted but none are loaded.
    pub fn selection(&self) -> Result<Option<Loaded>, String> {
        if !self.use_files.get_untracked() {
            return Ok(None);
        }
        self.loaded
            .get_untracked()
            .map(Some)
            .ok_or_else(|| "no tensor is loaded: fix the problem shown under “Real weights”, or untick “Merge these weights”".into())
    }

    /// Reads and checks new contribution files (replacing the old ones only
    /// if every one is valid), then loads the first usable tensor.
    fn add_files(self, files: Vec<web_sys::File>) {
        self.busy.set(true);
        spawn_local(async move {
            let result = match read_contributions(files).await {
                Ok(picked) => self.inspect(picked).await,
                Err(message) => Err(message),
            };
            self.busy.set(false);
            match result {
                Ok((names, choices)) => self.accept(names, choices, None),
                Err(message) => self.fail(message),
            }
        });
    }

    /// Fetches the shipped sample from this site and opens it.
    fn load_sample(self) {
        self.busy.set(true);
        spawn_local(async move {
            let mut picked = Vec::new();
            let mut failed = None;
            for name in SAMPLE_FILES {
                match fetch_bytes(&format!("{SAMPLE_DIR}{name}")).await {
                    Ok(bytes) => picked.push(Picked {
                        name: name.to_string(),
                        bytes,
                    }),
                    Err(e) => {
                        failed = Some(format!("the sample file '{name}' could not be read: {e}"));
                        break;
                    }
                }
            }
            let checked = match failed {
                Some(message) => Err(message),
                None => self.inspect(picked).await,
            };
            self.busy.set(false);
            match checked {
                Ok((names, choices)) => self.accept(names, choices, Some(SAMPLE_TENSOR)),
                Err(message) => self.fail(message),
            }
        });
    }

    /// Hands the files to the worker, which checks every one and keeps
    /// them (replacing the files it kept) only if all are valid and share a
    /// tensor that can be merged: their names and sizes, and the choices.
    async fn inspect(
        self,
        picked: Vec<Picked>,
    ) -> Result<(Vec<(String, u64)>, Vec<TensorChoice>), String> {
        let names = picked
            .iter()
            .map(|p| (p.name.clone(), p.bytes.len() as u64))
            .collect();
        let message = ToWorker::ModelFiles { files: picked };
        match self.worker.request(&message).await? {
            FromWorker::ModelFiles { choices } => Ok((names, choices)),
            other => Err(unexpected(&other)),
        }
    }

    /// Commits a valid set of files (already kept by the worker) and loads
    /// a tensor.
    fn accept(self, names: Vec<(String, u64)>, choices: Vec<TensorChoice>, prefer: Option<&str>) {
        let first = prefer
            .and_then(|p| choices.iter().find(|c| c.name == p && c.issue.is_none()))
            .or_else(|| choices.iter().find(|c| c.issue.is_none()));
        // The worker keeps files only when one of their tensors is usable.
        let Some(first) = first.map(|c| c.name.clone()) else {
            return self.fail("none of the tensors the files have in common can be merged".into());
        };
        self.file_names.set(names);
        self.choices.set(choices);
        self.choose(first);
    }

    /// Selects `name` (with an automatic slice when it is too large) and
    /// loads it.
    fn choose(self, name: String) {
        let files = self.file_names.with_untracked(Vec::len);
        let cap = browser_limits(files).elements_max;
        let choice = self
            .choices
            .with_untracked(|c| c.iter().find(|c| c.name == name).cloned());
        self.tensor.set(name.clone());
        self.note.set(None);
        if let Some(c) = choice.filter(|c| c.elements as usize > cap) {
            let slice =
                Slice::rows_within(&c.shape, cap).unwrap_or(Slice::Elements { start: 0, end: cap });
            self.set_slice(slice);
            self.note.set(Some(format!(
                "“{name}” has {} elements, more than a browser run holds ({} per tensor with {files} files): {slice} are taken. Change the slice below.",
                group(c.elements),
                group(cap as u64)
            )));
        } else {
            self.slice_on.set(false);
        }
        self.load();
    }

    fn set_slice(&self, slice: Slice) {
        let (kind, start, end) = match slice {
            Slice::Rows { start, end } => ("rows", start, end),
            Slice::Elements { start, end } => ("elements", start, end),
        };
        self.slice_on.set(true);
        self.slice_kind.set(kind.into());
        self.slice_start.set(start.to_string());
        self.slice_end.set(end.to_string());
    }

    /// The slice the fields describe.
    fn slice(&self) -> Result<Option<Slice>, String> {
        if !self.slice_on.get_untracked() {
            return Ok(None);
        }
        let number = |what: &str, s: RwSignal<String>| {
            let text = s.get_untracked();
            text.trim()
                .parse::<usize>()
                .map_err(|_| format!("slice {what}: '{}' is not a whole number", text.trim()))
        };
        let start = number("start", self.slice_start)?;
        let end = number("end", self.slice_end)?;
        Ok(Some(if self.slice_kind.get_untracked() == "elements" {
            Slice::Elements { start, end }
        } else {
            Slice::Rows { start, end }
        }))
    }

    /// Loads the selected tensor from every file (and the base), all or
    /// nothing, in the worker that keeps the files.
    fn load(self) {
        let tensor = self.tensor.get_untracked();
        let slice = match self.slice() {
            Ok(slice) => slice,
            Err(message) => return self.loaded_or(Err(message)),
        };
        self.busy.set(true);
        spawn_local(async move {
            let message = ToWorker::LoadModelTensor { tensor, slice };
            let result = match self.worker.request(&message).await {
                Ok(FromWorker::ModelTensor { workload, tensors }) => Ok((workload, tensors)),
                Ok(other) => Err(unexpected(&other)),
                Err(message) => Err(message),
            };
            self.busy.set(false);
            self.loaded_or(result);
        });
    }

    /// Shows what a load gave: the loaded selection, or why nothing is.
    fn loaded_or(self, result: Result<(FileWorkload, FileTensors), String>) {
        match result {
            Ok((workload, tensors)) => {
                self.loaded.set(Some(Loaded {
                    workload,
                    tensors: Arc::new(tensors),
                }));
                self.use_files.set(true);
                self.error.set(None);
            }
            Err(message) => {
                self.loaded.set(None);
                self.error.set(Some(message));
            }
        }
    }

    /// Reads and checks a base model file (the worker keeps it), then
    /// reloads the selection.
    fn set_base(self, file: web_sys::File) {
        self.busy.set(true);
        spawn_local(async move {
            let result = match read_file(&file).await {
                Ok(picked) => {
                    let name = (picked.name.clone(), picked.bytes.len() as u64);
                    self.send_base(Some(picked)).await.map(|()| name)
                }
                Err(message) => Err(message),
            };
            self.busy.set(false);
            match result {
                Ok(name) => {
                    self.base_name.set(Some(name));
                    if !self.tensor.get_untracked().is_empty() {
                        self.load();
                    }
                }
                Err(message) => self.error.set(Some(message)),
            }
        });
    }

    /// Gives the worker the base (or removes it there).
    async fn send_base(self, base: Option<Picked>) -> Result<(), String> {
        match self.worker.request(&ToWorker::ModelBase { base }).await? {
            FromWorker::ModelBase => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    fn remove_base(self) {
        self.base_name.set(None);
        self.busy.set(true);
        spawn_local(async move {
            let result = self.send_base(None).await;
            self.busy.set(false);
            match result {
                Ok(()) if !self.tensor.get_untracked().is_empty() => self.load(),
                Ok(()) => {}
                Err(message) => self.error.set(Some(message)),
            }
        });
    }

    /// Forgets every file (the worker keeps its copies until the next
    /// files replace them; nothing is loaded from them meanwhile).
    fn clear(self) {
        self.file_names.set(Vec::new());
        self.base_name.set(None);
        self.choices.set(Vec::new());
        self.tensor.set(String::new());
        self.loaded.set(None);
        self.use_files.set(false);
        self.error.set(None);
        self.note.set(None);
        self.slice_on.set(false);
    }

    /// A failed pick: the message, and nothing half-loaded. Files accepted
    /// before stay (the person can fix the one that failed).
    fn fail(self, message: String) {
        self.error.set(Some(message));
    }
}

/// Reads new contribution files: count and sizes first (before reading
/// anything), then every file (the worker then checks every header).
async fn read_contributions(files: Vec<web_sys::File>) -> Result<Vec<Picked>, String> {
    if files.len() < 2 {
        return Err(format!(
            "choose two or more .safetensors files at once (got {}): the nodes merge one tensor from each",
            files.len()
        ));
    }
    if files.len() > FILES_MAX {
        return Err(format!(
            "{} files chosen; at most {FILES_MAX} can be merged",
            files.len()
        ));
    }
    let limits = browser_limits(files.len());
    for f in &files {
        loader::check_file_size(&f.name(), f.size() as u64, &limits).map_err(|e| e.to_string())?;
    }
    let mut picked = Vec::with_capacity(files.len());
    for f in &files {
        picked.push(read_file(f).await?);
    }
    Ok(picked)
}

/// A reply the weights worker should not have sent.
fn unexpected(_reply: &FromWorker) -> String {
    "the weights worker sent an unexpected reply".into()
}

/// A picked file's bytes (size-checked first).
async fn read_file(file: &web_sys::File) -> Result<Picked, String> {
    let name = file.name();
    loader::check_file_size(&name, file.size() as u64, &browser_limits(1))
        .map_err(|e| e.to_string())?;
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("file '{name}' could not be read: {}", js_text(&e)))?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    Ok(Picked { name, bytes })
}

/// GETs a same-site file (the shipped sample) as bytes.
async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let global = js_sys::global();
    let fetch: js_sys::Function = js_sys::Reflect::get(&global, &"fetch".into())
        .map_err(|e| js_text(&e))?
        .dyn_into()
        .map_err(|_| "fetch is not available".to_string())?;
    let response = JsFuture::from(js_sys::Promise::from(
        fetch.call1(&global, &url.into()).map_err(|e| js_text(&e))?,
    ))
    .await
    .map_err(|e| js_text(&e))?;
    let get = |key: &str| js_sys::Reflect::get(&response, &key.into()).unwrap_or_default();
    if get("ok").as_bool() != Some(true) {
        return Err(format!(
            "HTTP status {}",
            get("status").as_f64().unwrap_or(0.0)
        ));
    }
    let array_buffer: js_sys::Function = get("arrayBuffer")
        .dyn_into()
        .map_err(|_| "no body".to_string())?;
    let buffer = JsFuture::from(js_sys::Promise::from(
        array_buffer.call0(&response).map_err(|e| js_text(&e))?,
    ))
    .await
    .map_err(|e| js_text(&e))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

fn js_text(v: &wasm_bindgen::JsValue) -> String {
    v.as_string()
        .or_else(|| {
            v.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| format!("{v:?}"))
}

fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    list.map(|l| (0..l.length()).filter_map(|i| l.get(i)).collect())
        .unwrap_or_default()
}

/// `1239748` → `1.24 MB`.
pub fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.2} GB", b as f64 / 1e9),
        b if b >= 1_000_000 => format!("{:.2} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{b} bytes"),
    }
}

fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", dims.join(" × "))
}

/// Sends a file workload's tensors to every worker and waits until each
/// has them (a worker builds the workload from them when the run's config
/// names the files).
pub async fn send_tensors<L: Link>(link: &mut L, tensors: &FileTensors) -> Result<(), RunError> {
    let count = tensors.contributions.len() + usize::from(tensors.base.is_some());
    let elements: u64 = tensors
        .contributions
        .iter()
        .chain(&tensors.base)
        .map(|t| t.len() as u64)
        .sum();
    let message = ToWorker::LoadTensors {
        tensors: tensors.clone(),
    };
    let n = link.size();
    for w in 0..n {
        link.send(w, &message)?;
    }
    for _ in 0..n {
        match link.recv().await? {
            (
                _,
                FromWorker::TensorsLoaded {
                    tensors,
                    elements: e,
                },
            ) if tensors as usize == count && e == elements => {}
            (worker, FromWorker::Failed { message }) => {
                return Err(RunError::Worker { worker, message })
            }
            (worker, other) => {
                return Err(RunError::Protocol(format!(
                    "worker {worker} answered {other:?} to the model tensors"
                )))
            }
        }
    }
    Ok(())
}

/// [`send_tensors`] to every worker of `link` when the run has model files
/// (`tensors`), telling the progress bar; nothing otherwise.
pub async fn send_tensors_first<L: Link>(
    link: &mut L,
    tensors: Option<&FileTensors>,
    sink: &crate::runner::StatusSink,
) -> Result<(), RunError> {
    let Some(tensors) = tensors else {
        return Ok(());
    };
    sink(crate::runner::Status {
        fraction: 0.0,
        text: "sending the model tensors to the workers".into(),
    });
    send_tensors(link, tensors).await
}

/// The run's config and tensors: `config` (read from the form), with the
/// loaded model files as its workload when the person chose them, checked
/// with the experiment's `validate`. Problems become form issues (and
/// `None`).
pub fn with_weights<C: HasWorkload>(
    mut config: C,
    selection: Result<Option<Loaded>, String>,
    validate: fn(&C) -> Result<(), ConfigError>,
    issues: &mut Vec<QueryIssue>,
) -> Option<(C, Option<Arc<FileTensors>>)> {
    match selection {
        Ok(None) => Some((config, None)),
        Ok(Some(loaded)) => {
            *config.workload_kind_mut() = WorkloadKind::Files(loaded.workload);
            match validate(&config) {
                Ok(()) => Some((config, Some(loaded.tensors))),
                Err(e) => {
                    issues.push(crate::query::issue("weights", "", e.to_string()));
                    None
                }
            }
        }
        Err(message) => {
            issues.push(crate::query::issue("weights", "", message));
            None
        }
    }
}

/// Whether the page's link was made with model files (which it cannot
/// carry): the panel then says how to reproduce the run.
pub fn link_had_files(issues: &[QueryIssue]) -> bool {
    issues
        .iter()
        .any(|i| i.key == "workload" && i.value == "files")
}

/// [`crate::runner::page_actions`] for a job-based page with the
/// real-weights panel: Run reads the form with `read` (then `extra`
/// checks), puts the panel's files in the config's workload, writes the
/// config into the address bar and starts `task` with the tensors (also on
/// load when the link says `run=1`, with the link's config and no files).
#[allow(clippy::too_many_arguments)]
pub fn page_actions<C, T, G>(
    form: crate::components::controls::Form,
    runner: crate::runner::Runner<T>,
    options: crate::query::PageOptions,
    read: crate::query::ConfigReader<C>,
    to_query: fn(&C) -> Vec<(String, String)>,
    validate: fn(&C) -> Result<(), ConfigError>,
    task: fn(C, Option<Arc<FileTensors>>) -> G,
    config: &C,
    weights: Weights,
    extra: impl Fn(&C, &mut Vec<QueryIssue>) + Send + Sync + 'static,
) -> crate::runner::PageActions
where
    C: HasWorkload + Clone + 'static,
    T: crate::runner::Timed + Send + Sync + 'static,
    G: FnOnce(crate::pool::Pool, crate::runner::StatusSink) -> crate::runner::TaskFuture<T>
        + 'static,
{
    crate::runner::page_actions(
        form,
        runner,
        options,
        read,
        to_query,
        move |config, found| {
            extra(&config, found);
            with_weights(config, weights.selection(), validate, found)
        },
        task,
        config,
    )
}

/// The "Real weights" panel.
#[component]
pub fn WeightsPanel(
    weights: Weights,
    running: Signal<bool>,
    /// The page was opened from a link that was made with model files.
    from_link: bool,
) -> impl IntoView {
    let w = weights;
    let disabled = move || running.get() || w.busy.get();
    let on_files = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let files = files_of(input.files());
        input.set_value("");
        if !files.is_empty() {
            w.add_files(files);
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        if disabled() {
            return;
        }
        let files = files_of(ev.data_transfer().and_then(|d| d.files()));
        if !files.is_empty() {
            w.add_files(files);
        }
    };
    let on_base = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let file = files_of(input.files()).into_iter().next();
        input.set_value("");
        if let Some(f) = file {
            w.set_base(f);
        }
    };
    let has_files = move || w.file_names.with(|f| !f.is_empty());
    view! {
        <section class="weights" aria-labelledby="weights-title" data-testid="weights">
            <h2 id="weights-title">"Real weights (optional)"</h2>
            <p class="muted">
                "By default the nodes merge synthetic tensors. To merge a real model's weights instead, choose two or more "
                <code>".safetensors"</code>" files (F32, F16, BF16 or F64): each node contributes one tensor from one file (node i takes file i mod F). "
                <strong>"Your files never leave this browser"</strong>": they are read here and nothing is uploaded."
            </p>
            {from_link.then(|| view! {
                <p class="notice warn" role="status" data-testid="weights-from-link">
                    "This link was made with model files, which a link cannot carry. Load the same files here (the report you got names them, with their BLAKE3 digests) and run again to reproduce it."
                </p>
            })}
            <div
                class="dropzone"
                class:busy=move || w.busy.get()
                on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default()
                on:drop=on_drop
            >
                <label for="weights-files">"Drop files here, or choose them:"</label>
                <input
                    id="weights-files"
                    type="file"
                    multiple
                    accept=".safetensors"
                    data-testid="weights-input"
                    disabled=disabled
                    on:change=on_files
                />
                <button type="button" data-testid="weights-sample" disabled=disabled on:click=move |_| w.load_sample()>
                    "Try the sample (Silero VAD, 2 × 1.2 MB)"
                </button>
            </div>
            {move || w.busy.get().then(|| view! { <p class="muted" role="status">"Reading the files…"</p> })}
            {move || w.error.get().map(|e| view! {
                <p class="notice error" role="alert" data-testid="weights-error">{e}</p>
            })}
            {move || has_files().then(|| view! { <Selection w disabled=Signal::derive(disabled) on_base/> })}
        </section>
    }
}

/// The files, the tensor picker, the slice, the base and the loaded state.
#[component]
fn Selection(
    w: Weights,
    disabled: Signal<bool>,
    on_base: impl Fn(leptos::ev::Event) + 'static,
) -> impl IntoView {
    let files = move || {
        w.file_names
            .get()
            .into_iter()
            .map(|(name, bytes)| view! { <li><code>{name}</code>" — "{size_text(bytes)}</li> })
            .collect_view()
    };
    let options = move || {
        let current = w.tensor.get();
        w.choices
            .get()
            .into_iter()
            .map(|c| {
                let label = format!(
                    "{} — {} {}{}",
                    c.name,
                    shape_text(&c.shape),
                    c.dtype,
                    if c.issue.is_some() { " (cannot be merged)" } else { "" }
                );
                let selected = c.name == current;
                view! {
                    <option value=c.name.clone() selected=selected disabled=c.issue.is_some() title=c.issue.clone().unwrap_or_default()>
                        {label}
                    </option>
                }
            })
            .collect_view()
    };
    let count = move || w.choices.with(Vec::len);
    view! {
        <div class="weights-selection">
            <p><strong>"Files: "</strong></p>
            <ol class="weights-files" data-testid="weights-files">{files}</ol>
            <div class="fields">
                <div class="field weights-tensor-field">
                    <label for="weights-tensor">"Tensor (common to all files)"</label>
                    <select
                        id="weights-tensor"
                        data-testid="weights-tensor"
                        aria-describedby="weights-tensor-hint"
                        disabled=move || disabled.get()
                        on:change=move |ev| w.choose(event_target_value(&ev))
                    >
                        {options}
                    </select>
                    <small id="weights-tensor-hint" class="hint">{move || format!("{} tensors in common", count())}</small>
                </div>
                <div class="field">
                    <label for="weights-base">"Base model (optional)"</label>
                    <input id="weights-base" type="file" accept=".safetensors" data-testid="weights-base" disabled=move || disabled.get() on:change=on_base/>
                    <small class="hint">
                        {move || match w.base_name.get() {
                            Some((name, bytes)) => format!("{name} ({}); for task arithmetic, TIES, DARE…", size_text(bytes)),
                            None => "needed by task arithmetic, TIES, DARE…".to_string(),
                        }}
                    </small>
                </div>
            </div>
            {move || w.base_name.get().is_some().then(|| view! {
                <button type="button" disabled=move || disabled.get() on:click=move |_| w.remove_base()>"Remove the base"</button>
            })}
            <fieldset class="weights-slice" disabled=move || disabled.get()>
                <legend>
                    <label>
                        <input type="checkbox" data-testid="weights-slice"
                            prop:checked=move || w.slice_on.get()
                            on:change=move |ev| w.slice_on.set(event_target_checked(&ev))/>
                        " Take a slice (for large tensors)"
                    </label>
                </legend>
                {move || w.slice_on.get().then(|| view! {
                <div class="fields">
                    <div class="field">
                        <label for="weights-slice-kind">"Slice of"</label>
                        <select id="weights-slice-kind" on:change=move |ev| w.slice_kind.set(event_target_value(&ev))>
                            <option value="rows" selected=move || w.slice_kind.get() == "rows">"rows (first dimension)"</option>
                            <option value="elements" selected=move || w.slice_kind.get() == "elements">"elements (flattened)"</option>
                        </select>
                    </div>
                    <div class="field">
                        <label for="weights-slice-start">"From"</label>
                        <input id="weights-slice-start" type="text" inputmode="numeric" data-testid="weights-slice-start"
                            prop:value=move || w.slice_start.get() on:input=move |ev| w.slice_start.set(event_target_value(&ev))/>
                    </div>
                    <div class="field">
                        <label for="weights-slice-end">"To (exclusive)"</label>
                        <input id="weights-slice-end" type="text" inputmode="numeric" data-testid="weights-slice-end"
                            prop:value=move || w.slice_end.get() on:input=move |ev| w.slice_end.set(event_target_value(&ev))/>
                    </div>
                </div>
                })}
            </fieldset>
            <div class="actions">
                <button type="button" data-testid="weights-load" disabled=move || disabled.get() on:click=move |_| w.load()>"Load the tensor"</button>
                <button type="button" data-testid="weights-clear" disabled=move || disabled.get() on:click=move |_| w.clear()>"Remove the files"</button>
            </div>
            {move || w.note.get().map(|n| view! { <p class="notice warn" role="status">{n}</p> })}
            {move || w.loaded.get().map(|l| view! { <LoadedLine loaded=l/> })}
            <label class="weights-use">
                <input type="checkbox" data-testid="weights-use"
                    prop:checked=move || w.use_files.get()
                    on:change=move |ev| w.use_files.set(event_target_checked(&ev))/>
                " Merge these weights in the next run (instead of the synthetic workload: “Tensor side” and the fine-tune settings are then unused)"
            </label>
        </div>
    }
}

/// What is loaded.
#[component]
fn LoadedLine(loaded: Loaded) -> impl IntoView {
    let f = &loaded.workload;
    let shape = f.loaded_shape().unwrap_or_default();
    let elements: usize = shape.iter().product();
    let text = format!(
        "Loaded “{}” {} {} ({} elements{}) from {} files{}.",
        f.tensor,
        shape_text(&shape),
        f.dtype,
        group(elements as u64),
        f.slice.map_or(String::new(), |s| format!(
            ", {s} of {}",
            shape_text(&f.shape)
        )),
        f.files.len(),
        f.base
            .as_ref()
            .map_or(String::new(), |b| format!(" and the base {}", b.name)),
    );
    view! {
        <p class="notice weights-loaded" role="status" data-testid="weights-loaded">{text}</p>
    }
}

/// What a file run merged: the tensor and every file with its digests.
#[component]
pub fn WorkloadFiles(files: FileWorkload) -> impl IntoView {
    let shape = files.loaded_shape().unwrap_or_default();
    let rows = files
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("{i}"), f.clone()))
        .chain(files.base.iter().map(|b| ("base".to_string(), b.clone())))
        .map(|(role, f)| {
            view! {
                <tr>
                    <td>{role}</td>
                    <td><code>{f.name.clone()}</code></td>
                    <td class="num">{group(f.bytes)}</td>
                    <td><code title=f.blake3.clone()>{f.blake3[..16].to_string()}"…"</code></td>
                    <td><code title=f.tensor_digest.clone()>{f.tensor_digest[..16].to_string()}"…"</code></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h2>"What was merged"</h2>
        <p>
            "Tensor "<code>{files.tensor.clone()}</code>" "{shape_text(&shape)}" "{files.dtype.clone()}
            {files.slice.map(|s| format!(" ({s} of {})", shape_text(&files.shape)))}
            ", one per node, node i taking file i mod "{files.files.len()}"."
        </p>
        <div class="table-wrap">
            <table class="results" data-testid="workload-files">
                <thead><tr>
                    <th scope="col">"File"</th>
                    <th scope="col">"Name"</th>
                    <th scope="col" class="num">"Bytes"</th>
                    <th scope="col">"BLAKE3 (b3sum)"</th>
                    <th scope="col">"Tensor digest"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <p class="muted">"A link cannot carry your files: the permalink below keeps every other setting. The command line names the files; run it where they are to get the same fingerprint."</p>
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(size_text(999), "999 bytes");
        assert_eq!(size_text(1_239_748), "1.24 MB");
        assert_eq!(shape_text(&[512, 128]), "[512 × 128]");
        assert_eq!(shape_text(&[]), "[]");
    }

    #[test]
    fn browser_limits_leave_room_for_every_tensor() {
        for files in [2, 3, 15, 64] {
            let l = browser_limits(files);
            assert!((files as u64 + 1) * l.elements_max as u64 <= WORKLOAD_ELEMENTS_BROWSER_MAX);
        }
        assert_eq!(browser_limits(2).elements_max, BROWSER_ELEMENTS_MAX);
    }

    use crate::coordinator::run;
    use crate::local::{block_on, LocalLink};
    use lab_core::experiment::convergence::{
        load_files, run_with_workload, ConvergenceConfig, Workload, WorkloadKind,
    };
    use lab_core::sim::Protocol;

    /// A safetensors file with one F32 tensor "w" of shape [3, 2].
    fn file(values: [f32; 6]) -> Vec<u8> {
        let header = r#"{"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]}}"#;
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        out
    }

    /// Two files' tensor "w", loaded with the browser's limits.
    pub(crate) fn two_files() -> (FileWorkload, FileTensors) {
        let (a, b) = (
            file([1., 2., 3., 4., 5., 6.]),
            file([0., -1., 0.5, 2., 8., 1.]),
        );
        load_files(
            &[("a.safetensors", &a), ("b.safetensors", &b)],
            None,
            "w",
            None,
            &browser_limits(2),
        )
        .unwrap()
    }

    /// The page's path (tensors sent to the workers, then the round-by-round
    /// coordinator) gives lab-cli's report, with any number of workers.
    #[test]
    fn a_file_run_in_workers_matches_the_native_run() {
        let (files, tensors) = two_files();
        for protocol in [Protocol::AllPairs, Protocol::PushPull] {
            let config = ConvergenceConfig {
                nodes: 5,
                orderings: 2,
                protocol,
                fanout: 1,
                workload: WorkloadKind::Files(files.clone()),
                ..ConvergenceConfig::default()
            };
            let workload = Workload::from_files(&config, tensors.clone()).unwrap();
            let native = run_with_workload(&config, Arc::new(workload), 1, &mut |_| true).unwrap();
            assert!(native.verdict.passed);
            for workers in [1, 2, 3] {
                let mut link = LocalLink::new(workers);
                block_on(send_tensors(&mut link, &tensors)).unwrap();
                let report = block_on(run(&mut link, &config, &mut |_| {}))
                    .unwrap()
                    .report;
                assert_eq!(report, native, "{protocol:?} with {workers} workers");
            }
        }
    }

    /// Without the tensors a worker refuses a file config in words.
    #[test]
    fn a_worker_without_the_tensors_says_so() {
        let (a, b) = (file([1.; 6]), file([2.; 6]));
        let (files, _) =
            load_files(&[("a", &a), ("b", &b)], None, "w", None, &browser_limits(2)).unwrap();
        let config = ConvergenceConfig {
            nodes: 2,
            orderings: 1,
            workload: WorkloadKind::Files(files),
            ..ConvergenceConfig::default()
        };
        let err = block_on(run(&mut LocalLink::new(1), &config, &mut |_| {}))
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .contains("has not received the model tensors"),
            "{err}"
        );
    }
}
