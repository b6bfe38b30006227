//! The process-wide registry of the application's named circuit breakers.

use super::breaker::{BreakerConfig, BreakerSnapshot, CircuitBreaker};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Named breakers, for listing (`/circuit-breakers`) and manual control.
///
/// ```
/// use tracing_observer::{breaker::breakers, breaker::BreakerConfig};
/// let breaker = breakers().get_or_create("inventory", BreakerConfig::default());
/// breaker.trip();
/// assert!(breakers().list().iter().any(|b| b.name == "inventory"));
/// breakers().reset_all();
/// ```
#[derive(Debug, Default)]
pub struct BreakerRegistry {
    breakers: Mutex<BTreeMap<String, CircuitBreaker>>,
}

// === impl BreakerRegistry ===

impl BreakerRegistry {
    /// An empty registry.
    ///
    /// ```
    /// use tracing_observer::breaker::BreakerRegistry;
    /// let registry = BreakerRegistry::new();
    /// assert!(registry.list().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> MutexGuard<'_, BTreeMap<String, CircuitBreaker>> {
        self.breakers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The breaker named `name`, created with `config` if there is none yet.
    ///
    /// ```
    /// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerState, CircuitBreaker};
    /// use tracing_observer::breaker::BreakerRegistry;
    /// let registry = BreakerRegistry::new();
    /// registry.get_or_create("inventory", BreakerConfig::default()).trip();
    /// let again = registry.get_or_create("inventory", BreakerConfig::default());
    /// assert_eq!(again.state(), BreakerState::Open, "the existing breaker is returned");
    /// ```
    pub fn get_or_create(&self, name: &str, config: BreakerConfig) -> CircuitBreaker {
        self.map()
            .entry(name.to_owned())
            .or_insert_with(|| CircuitBreaker::new(name, config))
            .clone()
    }

    /// Adds `breaker` under its name, replacing any breaker of that name.
    ///
    /// ```
    /// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerRegistry, CircuitBreaker};
    /// let registry = BreakerRegistry::new();
    /// registry.register(CircuitBreaker::new("inventory", BreakerConfig::default()));
    /// assert!(registry.get("inventory").is_some());
    /// ```
    pub fn register(&self, breaker: CircuitBreaker) {
        self.map().insert(breaker.name().to_owned(), breaker);
    }

    /// The breaker named `name`.
    ///
    /// ```
    /// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerRegistry};
    /// let registry = BreakerRegistry::new();
    /// assert!(registry.get("inventory").is_none());
    /// registry.get_or_create("inventory", BreakerConfig::default());
    /// assert_eq!(registry.get("inventory").unwrap().name(), "inventory");
    /// ```
    pub fn get(&self, name: &str) -> Option<CircuitBreaker> {
        self.map().get(name).cloned()
    }

    /// Every breaker's snapshot, by name.
    ///
    /// ```
    /// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerRegistry};
    /// let registry = BreakerRegistry::new();
    /// registry.get_or_create("search", BreakerConfig::default());
    /// registry.get_or_create("inventory", BreakerConfig::default());
    /// let names: Vec<String> = registry.list().into_iter().map(|b| b.name).collect();
    /// assert_eq!(names, ["inventory", "search"]);
    /// ```
    pub fn list(&self) -> Vec<BreakerSnapshot> {
        let breakers: Vec<CircuitBreaker> = self.map().values().cloned().collect();
        breakers.iter().map(CircuitBreaker::snapshot).collect()
    }

    /// Closes every breaker.
    ///
    /// ```
    /// use tracing_observer::{breaker::BreakerConfig, breaker::BreakerState, CircuitBreaker};
    /// use tracing_observer::breaker::BreakerRegistry;
    /// let registry = BreakerRegistry::new();
    /// let breaker = registry.get_or_create("inventory", BreakerConfig::default());
    /// breaker.trip();
    /// registry.reset_all();
    /// assert_eq!(breaker.state(), BreakerState::Closed);
    /// ```
    pub fn reset_all(&self) {
        let breakers: Vec<CircuitBreaker> = self.map().values().cloned().collect();
        breakers.iter().for_each(CircuitBreaker::reset);
    }
}

/// The process-wide registry of the application's breakers. Each observer's
/// `/circuit-breakers` endpoint, health and metrics list them after its own export
/// breaker, which is not in this registry.
///
/// ```
/// use tracing_observer::{breaker::breakers, breaker::BreakerConfig};
/// breakers().get_or_create("doc-example-geo", BreakerConfig::default());
/// assert!(breakers().get("doc-example-geo").is_some());
/// ```
pub fn breakers() -> &'static BreakerRegistry {
    static REGISTRY: OnceLock<BreakerRegistry> = OnceLock::new();
    REGISTRY.get_or_init(BreakerRegistry::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::BreakerState;

    #[test]
    fn registry_lists_and_resets() {
        let registry = BreakerRegistry::new();
        let a = registry.get_or_create("a", BreakerConfig::default());
        let again = registry.get_or_create("a", BreakerConfig::default().failure_threshold(1));
        a.trip();
        assert_eq!(again.state(), BreakerState::Open, "same breaker");
        registry.register(CircuitBreaker::new("b", BreakerConfig::default()));
        let names: Vec<_> = registry.list().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["a", "b"]);
        registry.reset_all();
        assert_eq!(registry.get("a").unwrap().state(), BreakerState::Closed);
    }
}
