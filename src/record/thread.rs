//! Small integer ids and names for threads, assigned once per thread.
//!
//! `std::thread::ThreadId::as_u64` is unstable, so each thread takes the next number
//! from a counter the first time it records a span, and registers its name in a
//! bounded table that the worker reads when it converts spans.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Names kept at most; threads past this are exported with an id only.
const MAX_NAMED_THREADS: usize = 4096;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn names() -> &'static Mutex<HashMap<u64, Arc<str>>> {
    static NAMES: OnceLock<Mutex<HashMap<u64, Arc<str>>>> = OnceLock::new();
    NAMES.get_or_init(Default::default)
}

/// The calling thread's id; the first call on a thread registers its name.
pub(crate) fn current_id() -> u64 {
    thread_local! {
        static ID: u64 = register_current();
    }
    ID.try_with(|id| *id).unwrap_or(0)
}

/// The registered name of a thread id, if it had one.
pub(crate) fn name_of(id: u64) -> Option<Arc<str>> {
    names().lock().ok()?.get(&id).cloned()
}

fn register_current() -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    if let Some(name) = std::thread::current().name() {
        if let Ok(mut names) = names().lock() {
            if names.len() < MAX_NAMED_THREADS {
                names.insert(id, Arc::from(name));
            }
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_per_thread_and_names_registered() {
        let here = current_id();
        assert_eq!(here, current_id());
        let (there, name) = std::thread::Builder::new()
            .name("worker-7".into())
            .spawn(|| (current_id(), name_of(current_id())))
            .unwrap()
            .join()
            .unwrap();
        assert_ne!(here, there);
        assert_eq!(name.as_deref(), Some("worker-7"));
    }
}
