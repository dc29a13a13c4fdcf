//! The app's entry point: installs the panic hook and mounts the UI.

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(convergence_lab::app::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the app runs in a browser: build it with `trunk build index.html --release`");
}
