//! The second page bundle: the whole app, for the rarely used pages
//! (scalability, trust, full suite, benchmarks) that the page's own bundle
//! (`src/main.rs`) does not carry. That bundle loads this one (`pages.js`)
//! when the URL names one of them; this one then mounts the UI.

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(|| convergence_lab::app::app(convergence_lab::app::all_pages));
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the app runs in a browser: build it with `trunk build index.html --release`");
}
