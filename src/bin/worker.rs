//! The web worker: thin glue that hosts engine nodes. It decodes each
//! postcard request from a transferred `Uint8Array`, hands it to
//! [`WorkerCore`], and posts the reply back the same way. It says `Ready`
//! first, so the pool never sends to a worker whose wasm is still loading.
//! A panic is reported as a `Failed` reply before the instance traps.
//! Run-pool workers warm the engine up before they say `Ready`.

#[cfg(target_arch = "wasm32")]
mod glue {
    use convergence_lab::pool::RUN_WORKER_NAME;
    use convergence_lab::protocol::{decode, encode, FromWorker, ToWorker};
    use convergence_lab::worker_core::{ProgressOut, WorkerCore};
    use std::cell::RefCell;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    fn scope() -> DedicatedWorkerGlobalScope {
        js_sys::global().unchecked_into()
    }

    fn post(reply: &FromWorker) {
        let bytes = js_sys::Uint8Array::from(encode(reply).as_slice());
        let transfer = js_sys::Array::of1(&bytes.buffer());
        if let Err(e) = scope().post_message_with_transfer(&bytes, &transfer) {
            web_sys::console::error_2(&"worker: could not post a reply".into(), &e);
        }
    }

    /// The worker's clock (only to throttle progress messages).
    fn now_ms() -> f64 {
        js_sys::Reflect::get(&js_sys::global(), &"performance".into())
            .ok()
            .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
            .map_or(0.0, |p| p.now())
    }

    fn request(event: &MessageEvent) -> Result<ToWorker, String> {
        let bytes = event
            .data()
            .dyn_into::<js_sys::Uint8Array>()
            .map_err(|_| "the request is not bytes".to_string())?;
        decode(&bytes.to_vec())
    }

    pub fn start() {
        std::panic::set_hook(Box::new(|info| {
            console_error_panic_hook::hook(info);
            post(&FromWorker::Failed {
                message: format!("the engine panicked: {info}"),
            });
        }));
        let core = RefCell::new(WorkerCore::new());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let reply = match request(&event) {
                Ok(req) => core.borrow_mut().handle_with(
                    req,
                    ProgressOut {
                        post: &mut |m| post(&m),
                        now_ms: &now_ms,
                    },
                ),
                Err(message) => FromWorker::Failed { message },
            };
            post(&reply);
        });
        scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // The handler lives as long as the worker.
        on_message.forget();
        // A run-pool worker (named by the pool) compiles the engine's hot
        // code now rather than in the first run; requests that arrive
        // meanwhile wait in the queue.
        if scope().name().starts_with(RUN_WORKER_NAME) && !WorkerCore::warm_up() {
            web_sys::console::error_1(&"worker: the warm-up run did not converge".into());
        }
        post(&FromWorker::Ready);
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {
    glue::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the worker binary runs only as a web worker (build with trunk)");
}
