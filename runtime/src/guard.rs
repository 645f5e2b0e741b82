//! libtorch errors that reach us as panics. tch's methods without the `f_`
//! prefix unwrap libtorch's result, so an error deep in a model (a CUDA
//! out-of-memory above all, which depends on the batch a user chose) would
//! end the process with a Rust panic and a C++ backtrace. The commands that
//! train or score run under [`libtorch`], which turns such a panic into an
//! error that says what happened and what to do. A run's plan is frozen
//! when it starts, so an out-of-memory cannot be mended by `--resume`: the
//! advice is a smaller `batch` in a new run.

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use crate::error::{Error, Result};

thread_local! {
    /// Set while this thread runs under [`libtorch`]: its panics become
    /// errors, so the default report (message, location) is not printed.
    static CAUGHT: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// Wraps the process's panic hook once: quiet on threads inside
/// [`libtorch`], the previous hook everywhere else.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CAUGHT.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs `f`; a panic inside it (libtorch's errors, through tch) comes back
/// as an [`Error`] naming libtorch's message, with advice for a device
/// that ran out of memory.
pub fn libtorch<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    install_hook();
    let outer = CAUGHT.with(|c| c.replace(true));
    let out = panic::catch_unwind(AssertUnwindSafe(f));
    CAUGHT.with(|c| c.set(outer));
    match out {
        Ok(r) => r,
        Err(payload) => Err(from_panic(payload.as_ref())),
    }
}

/// libtorch's message from a panic payload: tch's `unwrap` wraps it as
/// ``called `Result::unwrap()` on an `Err` value: Torch("…")``, and
/// libtorch appends a C++ backtrace after `Exception raised from`.
fn message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    let text = text
        .strip_prefix("called `Result::unwrap()` on an `Err` value: ")
        .unwrap_or(text);
    let text = text
        .strip_prefix("Torch(\"")
        .map_or(text, |t| t.strip_suffix("\")").unwrap_or(t));
    let end = ["\\nException raised from", "\nException raised from"]
        .iter()
        .filter_map(|m| text.find(m))
        .min()
        .unwrap_or(text.len());
    text[..end].replace("\\n", " ").trim().to_string()
}

fn from_panic(payload: &(dyn Any + Send)) -> Error {
    let msg = message(payload);
    if msg.to_lowercase().contains("out of memory") {
        Error::Input(format!(
            "the device ran out of memory: {msg}. Lower the stage's `batch` in the mixture (raise \
             `accumulate` to keep the batch the optimizer sees) and start a new run: `--resume` \
             follows the run's frozen plan, so it would run out of memory again"
        ))
    } else {
        Error::Input(format!("libtorch stopped: {msg}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind, Tensor};

    #[test]
    fn a_libtorch_error_inside_becomes_an_error() {
        let err = libtorch(|| {
            let a = Tensor::ones([2, 3], (Kind::Float, Device::Cpu));
            // Shapes that do not multiply: tch panics with libtorch's error.
            let _ = a.matmul(&a);
            Ok(())
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("libtorch stopped"), "{err}");
        assert!(err.contains("cannot be multiplied"), "{err}");
        assert!(!err.contains("unwrap"), "{err}");
        assert!(!err.contains("Exception raised from"), "{err}");
        // Errors and values pass through untouched.
        assert_eq!(libtorch(|| Ok(3)).unwrap(), 3);
        let e = libtorch::<()>(|| Err(Error::Input("mine".into()))).unwrap_err();
        assert_eq!(e.to_string(), "invalid input: mine");
    }

    #[test]
    fn out_of_memory_says_what_to_change() {
        let payload: Box<dyn Any + Send> = Box::new(String::from(
            "called `Result::unwrap()` on an `Err` value: Torch(\"CUDA out of memory. Tried to \
             allocate 20.00 GiB. GPU 0 has a total capacity of 79.19 GiB\\nException raised from \
             malloc at /pytorch/c10/cuda/CUDACachingAllocator.cpp:1\")",
        ));
        let err = from_panic(payload.as_ref()).to_string();
        assert!(
            err.contains("ran out of memory: CUDA out of memory. Tried to allocate 20.00 GiB"),
            "{err}"
        );
        assert!(err.contains("`batch`") && err.contains("new run"), "{err}");
        assert!(!err.contains("Exception raised from"), "{err}");
    }
}
