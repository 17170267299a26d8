//! Logging conventions of the core, and the one way to drop a `Result`: log it at warn.
//!
//! The core emits `tracing` events and leaves the subscriber to the program (the kiosk's
//! `logging` module). Events carry ids, kinds, counts and timings only — never names, document
//! numbers, MRZ text, images or input paths (a file name can be a customer's name).

use std::fmt::Display;
use std::panic::Location;
use std::thread::JoinHandle;

/// A `Result` whose failure changes nothing for the caller but must not vanish.
pub trait WarnOnErr {
    /// Log the error at warn with `what` was being done and the caller's location; drop the value.
    fn warn_on_err(self, what: &str);
}

impl<T, E: Display> WarnOnErr for Result<T, E> {
    #[track_caller]
    fn warn_on_err(self, what: &str) {
        if let Err(e) = self {
            let at = Location::caller();
            tracing::warn!(what, error = %e, at = %at, "failure ignored");
        }
    }
}

/// Join `handle`; a thread that panicked is logged at warn (the panic itself is logged by the
/// program's panic hook) and gives `None`.
#[track_caller]
pub fn join_or_warn<T>(handle: JoinHandle<T>, what: &str) -> Option<T> {
    let thread = handle.thread().name().unwrap_or("unnamed").to_string();
    match handle.join() {
        Ok(v) => Some(v),
        Err(payload) => {
            let at = Location::caller();
            tracing::warn!(what, thread, panic = panic_text(payload.as_ref()), at = %at, "thread ended by a panic");
            None
        }
    }
}

/// The message of a panic payload, when it is text.
#[must_use]
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not text)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_text_reads_str_and_string_payloads() {
        let h = std::thread::spawn(|| std::panic::panic_any(String::from("boom 7")));
        let payload = h.join().err().unwrap();
        assert_eq!(panic_text(payload.as_ref()), "boom 7");
        let h = std::thread::spawn(|| std::panic::panic_any(42_u8));
        let payload = h.join().err().unwrap();
        assert_eq!(panic_text(payload.as_ref()), "(not text)");
        let ok = std::thread::spawn(|| 5);
        assert_eq!(join_or_warn(ok, "a test thread"), Some(5));
        let bad = std::thread::spawn(|| std::panic::panic_any("x"));
        assert_eq!(join_or_warn(bad, "a test thread"), None);
        Err::<(), _>("closed").warn_on_err("sending a test event");
    }
}
