//! The opt-in panic hook: a panic becomes an `exception` event on the current span.
//!
//! The hook runs before unwinding, while the panicking code's spans are still
//! entered. It emits an ERROR event with `exception.type = "panic"`,
//! `exception.message`, `exception.stacktrace` and the location (`code.file.path`,
//! `code.line.number`, `code.column.number`): the layer turns it into an `exception`
//! event and marks the span ERROR. It then flushes what has closed so far with a
//! short timeout (so a crash under `panic = "abort"` loses as little as possible)
//! and calls the hook that was installed before. The spans the panic unwinds
//! through close during unwinding and are exported as usual.

use std::any::Any;
use std::cell::Cell;
use std::time::Duration;

/// How long the hook waits for the flush.
pub(crate) const PANIC_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

thread_local! {
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

/// Installs the hook in front of the current one.
pub(crate) fn install(flush: impl Fn(Duration) + Send + Sync + 'static) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A panic inside the hook (a subscriber bug) must not recurse.
        if !IN_HOOK.with(|flag| flag.replace(true)) {
            let message = panic_message(info.payload());
            let (file, line, column) = info
                .location()
                .map_or(("<unknown>", 0, 0), |l| (l.file(), l.line(), l.column()));
            let backtrace = std::backtrace::Backtrace::force_capture();
            tracing::error!(
                exception.type = "panic",
                exception.message = message,
                exception.stacktrace = %backtrace,
                code.file.path = file,
                code.line.number = line,
                code.column.number = column,
                "panicked at {file}:{line}:{column}: {message}"
            );
            flush(PANIC_FLUSH_TIMEOUT);
            IN_HOOK.with(|flag| flag.set(false));
        }
        previous(info);
    }));
}

/// The message of a panic payload (`&str` or `String`), or a placeholder.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string panic payload")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_read() {
        let owned: Box<dyn Any + Send> = Box::new(String::from("boom"));
        assert_eq!(panic_message(&*owned), "boom");
        let fixed: Box<dyn Any + Send> = Box::new("static boom");
        assert_eq!(panic_message(&*fixed), "static boom");
        let other: Box<dyn Any + Send> = Box::new(7u8);
        assert_eq!(panic_message(&*other), "a non-string panic payload");
    }
}
