//! The app's entry point: installs the panic hook and mounts the UI — or,
//! for the rarely used pages, loads the second bundle (`src/bin/pages.rs`),
//! which mounts it instead, so this bundle carries none of their code.

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    if convergence_lab::app::current_page().in_pages_bundle() {
        convergence_lab::browser::load_pages_bundle();
        return;
    }
    leptos::mount::mount_to_body(|| convergence_lab::app::app(convergence_lab::app::main_pages));
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the app runs in a browser: build it with `trunk build index.html --release`");
}
