//! [`ObserverBuilder`]: code-level configuration, layered over the file and the environment.
//!
//! The setters are flat (one method per setting, named like its config-file key) and
//! grouped by what they configure, one file each.

mod delivery;
mod export;
mod logs;
mod operations;
mod propagation;
mod recording;
mod sampling;

use crate::config::env::Environment;
use crate::config::origin::Origin;
use crate::config::table::Key;
use crate::config::{file, Settings};
use crate::error::BuildError;
use crate::export::SpanExporter;
use crate::observer::Observer;
use crate::pipeline::{Custom, Pipeline};
use crate::resources::ResourceMonitor;
use std::path::PathBuf;

/// Configures and starts an [`Observer`].
///
/// Settings come from, in increasing precedence: defaults, the config file
/// (`OBSERVER_CONFIG` or [`config_file`](Self::config_file)), environment variables
/// (`OTEL_*`, `OBSERVER_*`), and the methods called on this builder.
///
/// ```
/// use std::time::Duration;
/// use tracing_observer::{Observer, config::Protocol};
///
/// let builder = Observer::builder()
///     .service_name("checkout")
///     .endpoint("http://127.0.0.1:4317")
///     .protocol(Protocol::Grpc)
///     .scheduled_delay(Duration::from_millis(500));
/// // `builder.build()?` validates all sources and starts the observer's thread.
/// ```
#[must_use = "call .build() to start the observer"]
pub struct ObserverBuilder {
    overrides: Settings,
    errors: Vec<BuildError>,
    config_file: Option<PathBuf>,
    environment: Environment,
    exporter: Option<Box<dyn SpanExporter>>,
    resource_monitor: Option<Box<dyn ResourceMonitor>>,
}

impl std::fmt::Debug for ObserverBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObserverBuilder")
            .field("overrides", &self.overrides)
            .field("config_file", &self.config_file)
            .field("custom_exporter", &self.exporter.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for ObserverBuilder {
    fn default() -> Self {
        Self {
            overrides: Settings::default(),
            errors: Vec::new(),
            config_file: None,
            environment: Environment::Process,
            exporter: None,
            resource_monitor: None,
        }
    }
}

impl ObserverBuilder {
    /// A TOML config file with this builder's method names as keys.
    ///
    /// Environment: `OBSERVER_CONFIG`. Unknown keys are errors.
    ///
    /// ```
    /// use tracing_observer::Observer;
    /// // Read by build(): a missing file or an unknown key is a `BuildError`.
    /// let builder = Observer::builder().config_file("/etc/checkout/observer.toml");
    /// ```
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }

    /// Sends spans to a custom exporter instead of the one `traces_exporter` names.
    ///
    /// ```
    /// use tracing_observer::{export::InMemoryExporter, Observer};
    /// let exporter = InMemoryExporter::new();
    /// let builder = Observer::builder().exporter(exporter.clone()).service_name("checkout");
    /// ```
    pub fn exporter(mut self, exporter: impl SpanExporter) -> Self {
        self.exporter = Some(Box::new(exporter));
        self
    }

    /// Reads settings from these variables instead of the process environment
    /// (for tests, or to configure from another source).
    ///
    /// ```
    /// let builder = tracing_observer::Observer::builder()
    ///     .environment([("OTEL_SERVICE_NAME", "from-map")]);
    /// ```
    pub fn environment<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.environment = Environment::Map(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Sets the setting `K` of the same name as the calling method.
    fn set<K: Key>(self, value: K::Value) -> Self {
        self.set_as::<K>(K::NAME, value)
    }

    /// Sets the setting `K` from the builder method `method`; a value the setting's
    /// check refuses is kept as the error `build()` returns.
    fn set_as<K: Key>(mut self, method: &str, value: K::Value) -> Self {
        if let Err(error) = self
            .overrides
            .set::<K>(value, Origin::builder(method), None)
        {
            self.errors.push(error);
        }
        self
    }

    /// Sets `K` from text the method parsed, or keeps the parse error.
    fn parsed<K: Key>(mut self, text: &str, parsed: Result<K::Value, String>) -> Self {
        match parsed {
            Ok(value) => self.set::<K>(value),
            Err(reason) => {
                self.errors
                    .push(Origin::builder(K::NAME).error(text, reason));
                self
            }
        }
    }

    /// Validates the configuration and starts the worker thread.
    ///
    /// Works with or without a tokio runtime: the worker has its own. An unreachable
    /// collector is not an error here: exports fail later and are counted.
    ///
    /// # Errors
    /// A [`BuildError`] naming the setting and value that cannot be used, an
    /// unreadable or invalid config file, or a failure to start the worker thread.
    ///
    /// ```no_run
    /// use tracing_observer::{BuildError, Observer};
    /// let observer = Observer::builder().service_name("checkout").build()?;
    /// assert!(!observer.is_disabled());
    /// let err = Observer::builder().max_queue_size(0).build().unwrap_err();
    /// assert!(matches!(err, BuildError::InvalidSetting { .. }));
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn build(mut self) -> Result<Observer, BuildError> {
        if !self.errors.is_empty() {
            return Err(self.errors.remove(0));
        }
        let from_file = match self.config_file.take() {
            Some(path) => file::load(&path)?,
            None => match self.environment.config_file()? {
                // Name the variable, so the user knows where the path came from.
                Some(path) => file::load(&path).map_err(|e| match e {
                    BuildError::ConfigFileUnreadable { path, source } => {
                        Origin::environment(crate::config::vars::OBSERVER_CONFIG).error(
                            path.display().to_string(),
                            format!("cannot read the config file: {source}"),
                        )
                    }
                    other => other,
                })?,
                None => Settings::default(),
            },
        };
        let from_env = self.environment.settings()?;
        let mut config = from_file
            .overlay(from_env)
            .overlay(self.overrides)
            .resolve()?;
        crate::propagation::set_propagators(config.propagators);
        if config.disabled {
            return Ok(Observer::disabled());
        }
        let shutdown_timeout = config.shutdown_timeout;
        let baggage_attributes = std::mem::take(&mut config.baggage_attributes);
        let custom = Custom {
            exporter: self.exporter,
            resource_monitor: self.resource_monitor,
        };
        Ok(Observer::running(
            Pipeline::start(config, custom)?,
            shutdown_timeout,
            &baggage_attributes,
        ))
    }
}

impl Observer {
    /// A builder, starting from the `OTEL_*` / `OBSERVER_*` environment.
    ///
    /// ```no_run
    /// let observer = tracing_observer::Observer::builder().service_name("checkout").build()?;
    /// # Ok::<(), tracing_observer::BuildError>(())
    /// ```
    pub fn builder() -> ObserverBuilder {
        ObserverBuilder::default()
    }
}
