//! Small wrappers over browser APIs the page needs: the clock, facts about
//! the environment (recorded in the report's `Execution`, never in the
//! fingerprint), the URL, and file downloads.

use wasm_bindgen::{JsCast, JsValue};

/// Most `performance.now()` calls spent measuring the timer resolution.
const RESOLUTION_SAMPLES_MAX: u32 = 200_000;

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// `performance.now()` in milliseconds (0 where there is no clock).
pub fn now_ms() -> f64 {
    window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// The smallest non-zero step between successive `performance.now()`
/// readings, in microseconds (100 µs in Chromium without cross-origin
/// isolation, ~5 µs with it).
pub fn timer_resolution_us() -> f64 {
    let Some(perf) = window().and_then(|w| w.performance()) else {
        return 0.0;
    };
    let mut smallest = f64::INFINITY;
    let mut steps = 0;
    let mut last = perf.now();
    for _ in 0..RESOLUTION_SAMPLES_MAX {
        let t = perf.now();
        if t > last {
            smallest = smallest.min(t - last);
            steps += 1;
            if steps >= 20 {
                break;
            }
        }
        last = t;
    }
    if smallest.is_finite() {
        (smallest * 1000.0 * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

/// The second bundle's loader (`src/bin/pages.rs`, emitted by Trunk next
/// to the page as `pages.js` + `pages_bg.wasm`), relative to the page like
/// the worker's. `public/sw.js` precaches both for offline use.
pub const PAGES_BUNDLE_URL: &str = "./pages.js";

/// Loads the second bundle, which mounts the app itself (for the pages
/// [`crate::app::PageKind::in_pages_bundle`]); if it cannot load, a notice
/// says so in the page.
pub fn load_pages_bundle() {
    let load = js_sys::Function::new_with_args(
        "url",
        "return import(new URL(url, document.baseURI).href).then((m) => m.default()).catch((e) => {\
           const p = document.createElement('p');\
           p.className = 'notice error';\
           p.setAttribute('role', 'alert');\
           p.textContent = 'This page of Convergence Lab could not be loaded: ' + e;\
           document.body.append(p);\
         });",
    );
    let _ = load.call1(&JsValue::NULL, &JsValue::from_str(PAGES_BUNDLE_URL));
}

/// Number of workers to spawn by default: the logical cores, capped.
pub fn default_workers(cap: u32) -> u32 {
    let cores = window().map_or(1.0, |w| w.navigator().hardware_concurrency());
    (cores as u32).clamp(1, cap)
}

/// Facts about where the run executed, for `Execution::environment`.
pub fn environment() -> Vec<(String, String)> {
    let Some(w) = window() else {
        return Vec::new();
    };
    let nav = w.navigator();
    let isolated = js_sys::Reflect::get(&w, &JsValue::from_str("crossOriginIsolated"))
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    vec![
        ("user_agent".into(), nav.user_agent().unwrap_or_default()),
        ("cross_origin_isolated".into(), isolated.to_string()),
        (
            "hardware_concurrency".into(),
            nav.hardware_concurrency().to_string(),
        ),
    ]
}

/// The page's query string (with its leading `?`, or empty).
pub fn location_search() -> String {
    window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

/// The page's address without query or fragment.
pub fn location_base() -> String {
    let Some(loc) = window().map(|w| w.location()) else {
        return String::new();
    };
    let origin = loc.origin().unwrap_or_default();
    let path = loc.pathname().unwrap_or_default();
    format!("{origin}{path}")
}

/// Replaces the address bar's query without reloading (for permalinks).
pub fn replace_query(query: &str) {
    let Some(w) = window() else { return };
    if let Ok(history) = w.history() {
        let url = format!("{}?{query}", location_base());
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

/// Offers `content` as a file download named `filename`.
pub fn download(filename: &str, mime: &str, content: &str) -> Result<(), String> {
    let fail = |what: &str, e: JsValue| format!("could not {what}: {e:?}");
    let document = window().and_then(|w| w.document()).ok_or("no document")?;
    let parts = js_sys::Array::of1(&JsValue::from_str(content));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|e| fail("create the file", e))?;
    let url =
        web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| fail("create a link", e))?;
    let anchor: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| fail("create a link", e))?
        .unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(filename);
    anchor.click();
    // Revoke later: the download may read the blob after `click` returns.
    let revoke = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    if let Some(w) = window() {
        let _ =
            w.set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 60_000);
    }
    Ok(())
}
