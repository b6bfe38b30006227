//! Which fields leave the caller's thread: redaction by name pattern and an optional allow-list.
//!
//! Field names are `&'static str`, so each thread caches the verdict per name
//! (keyed by the name's address and the policy's id): a pattern scan happens once
//! per field name and thread, not once per span.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// What replaces the value of a redacted field.
pub(crate) const REDACTED: &str = "[REDACTED]";
/// Name patterns redacted by default (case-insensitive substrings).
pub(crate) const DEFAULT_REDACT_PATTERNS: [&str; 6] = [
    "password",
    "secret",
    "token",
    "authorization",
    "api_key",
    "cookie",
];
/// Slots of the per-thread verdict cache (direct-mapped: a collision recomputes).
const CACHE_SLOTS: usize = 256;

/// Which policy and which (static) field name a cached verdict is for.
#[derive(Clone, Copy, PartialEq, Eq)]
struct CacheKey {
    policy: u64,
    ptr: usize,
    len: usize,
}

thread_local! {
    static CACHE: [Cell<(CacheKey, Verdict)>; CACHE_SLOTS] = const {
        [const { Cell::new((CacheKey { policy: 0, ptr: 0, len: 0 }, Verdict::Keep)) }; CACHE_SLOTS]
    };
}

/// What happens to one field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Keep,
    Redact,
    Omit,
}

/// Redaction patterns and allow-list, lower-cased once at build time.
#[derive(Debug)]
pub(crate) struct FieldPolicy {
    id: u64,
    redact: Vec<String>,
    allow: Option<Vec<String>>,
}

impl FieldPolicy {
    pub(crate) fn new(redact: &[String], allow: Option<&[String]>) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let lower = |items: &[String]| -> Vec<String> {
            items.iter().map(|s| s.to_ascii_lowercase()).collect()
        };
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            redact: lower(redact),
            allow: allow.map(lower),
        }
    }

    /// The verdict for a field name, cached per thread.
    pub(crate) fn verdict(&self, name: &'static str) -> Verdict {
        if self.redact.is_empty() && self.allow.is_none() {
            return Verdict::Keep;
        }
        let key = CacheKey {
            policy: self.id,
            ptr: name.as_ptr() as usize,
            len: name.len(),
        };
        // Fibonacci hashing: names are often adjacent in memory (`a`, `b`).
        let slot = ((key.ptr ^ key.len.rotate_left(32)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56)
            % CACHE_SLOTS;
        CACHE
            .try_with(|cache| {
                let (cached, verdict) = cache[slot].get();
                if cached == key {
                    return verdict;
                }
                let verdict = self.decide(name);
                cache[slot].set((key, verdict));
                verdict
            })
            .unwrap_or_else(|_| self.decide(name))
    }

    fn decide(&self, name: &str) -> Verdict {
        let name = name.to_ascii_lowercase();
        if let Some(allow) = &self.allow {
            if !allow.contains(&name) {
                return Verdict::Omit;
            }
        }
        if self.redact.iter().any(|p| name.contains(p.as_str())) {
            Verdict::Redact
        } else {
            Verdict::Keep
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<String> {
        DEFAULT_REDACT_PATTERNS
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn default_patterns_redact_case_insensitively() {
        let policy = FieldPolicy::new(&defaults(), None);
        assert_eq!(policy.verdict("user_password"), Verdict::Redact);
        assert_eq!(policy.verdict("Authorization"), Verdict::Redact);
        assert_eq!(policy.verdict("API_KEY"), Verdict::Redact);
        assert_eq!(policy.verdict("order_id"), Verdict::Keep);
        assert_eq!(policy.verdict("order_id"), Verdict::Keep, "cached");
    }

    #[test]
    fn allow_list_omits_everything_else() {
        let allow = vec!["order_id".to_string(), "token".to_string()];
        let policy = FieldPolicy::new(&defaults(), Some(&allow));
        assert_eq!(policy.verdict("order_id"), Verdict::Keep);
        assert_eq!(policy.verdict("user"), Verdict::Omit);
        assert_eq!(
            policy.verdict("token"),
            Verdict::Redact,
            "redaction still applies"
        );
    }

    #[test]
    fn policies_do_not_share_cache_entries() {
        let strict = FieldPolicy::new(&["user".to_string()], None);
        let lax = FieldPolicy::new(&[], None);
        assert_eq!(strict.verdict("user"), Verdict::Redact);
        assert_eq!(lax.verdict("user"), Verdict::Keep);
    }
}
