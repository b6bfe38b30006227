//! The `settings!` macro: from one declaration per setting it makes the settings layer
//! ([`Settings`](super::Settings)), its overlay, the accessors of the defaulted values,
//! the environment and config-file readers, the [`vars`](super::vars) constants and the
//! README's table rows.
//!
//! Each setting is declared as
//!
//! ```text
//! /// What the setting is.
//! field: Type {
//!     env: [/// What the variable holds.
//!           VARIABLE => parser, …],          // the first variable set wins
//!     file: ["key" => reader],               // or [] when the file has no key for it
//!     check: validation,                     // run on every source's value
//!     default: value,                        // optional: the value when no layer sets one
//!     row: ["builder", "environment", "file", "default"], // or [] (another row covers it)
//! }
//! ```
//!
//! `parser` turns a variable's text into the value (`fn(&str) -> Result<Type, String>`),
//! `reader` a TOML value (`fn(&toml::Value) -> Result<Type, String>`); both only read
//! the value's form. `validation` (`fn(&Type) -> Result<(), String>`) is the one place
//! the value's range is checked, for the environment, the file and the builder alike.
//!
//! `value` (an expression of `Type`; the public `DEFAULT_*` constant where there is
//! one) gives the setting the method `Settings::field(&self) -> Type`: the layer's value,
//! else the default. [`resolve`](super::resolve) reads defaulted settings only through
//! these methods. A setting has no `default:` when its absence means something a
//! constant cannot say, and [`resolve`](super::resolve) reads its `Option`:
//! - computed from other settings: `service_name` (resource attributes, then
//!   `default_service_name`, then the executable), `endpoint` and `metrics_endpoint`
//!   (by protocol), `metrics_protocol` (the traces' `protocol`), `spool_dir` (from
//!   `data_home` and the service name);
//! - off when absent: `service_version`, `certificate`, `allow_fields` (every field),
//!   `slow_span_threshold`, `overhead_budget`, `spool_archive_dir`, `http_addr`,
//!   `circuit_breaker_failure_rate`;
//! - applied onto the delivery module's own defaults (`BreakerConfig::default()`, which
//!   holds them): `circuit_breaker_threshold`, `circuit_breaker_timeout`,
//!   `circuit_breaker_window`;
//! - inputs of another setting: `sampler_arg` (the ratio of the same source's sampler),
//!   `default_service_name` and `data_home` (of the computed defaults above).

macro_rules! settings {
    ($(
        $(#[$doc:meta])*
        $field:ident: $ty:ty {
            env: [$( $(#[$var_doc:meta])* $var:ident => $parse:expr ),* $(,)?],
            file: [$( $key:literal => $read:expr )?],
            check: $check:expr,
            $( default: $default:expr, )?
            row: [$( $cell:literal ),*],
        }
    )*) => {
        /// One layer of configuration (defaults, file, environment or builder): every
        /// value optional, each with where it came from; later layers win.
        #[derive(Clone, Debug, Default)]
        pub(crate) struct Settings {
            $( $(#[$doc])* pub(crate) $field: Option<$ty>, )*
            /// Where each value came from.
            pub(crate) origins: Origins,
        }

        /// Where each value of a [`Settings`] layer came from.
        #[derive(Clone, Debug, Default)]
        pub(crate) struct Origins {
            $( pub(crate) $field: Option<Origin>, )*
        }

        /// One type per setting, to set it through [`Settings::set`].
        pub(crate) mod key {
            use super::*;
            $(
                #[allow(non_camel_case_types)]
                pub(crate) struct $field;

                impl Key for $field {
                    type Value = $ty;
                    const NAME: &'static str = stringify!($field);
                    fn slot(settings: &mut Settings) -> (&mut Option<$ty>, &mut Option<Origin>) {
                        (&mut settings.$field, &mut settings.origins.$field)
                    }
                    fn check(value: &$ty) -> Result<(), String> {
                        ($check)(value)
                    }
                }
            )*
        }

        /// The value of each setting that has a fixed default: the layer's own, else
        /// the default.
        impl Settings {
            $($(
                #[doc = concat!("`", stringify!($field), "`, or its default.")]
                pub(crate) fn $field(&self) -> $ty {
                    self.$field.clone().unwrap_or_else(|| $default)
                }
            )?)*
        }

        impl Settings {
            /// This layer with `over` on top: every value `over` sets wins.
            pub(crate) fn overlay(self, over: Settings) -> Settings {
                Settings {
                    $( $field: SettingValue::overlay(self.$field, over.$field), )*
                    origins: Origins {
                        $( $field: over.origins.$field.or(self.origins.$field), )*
                    },
                }
            }

            /// Reads every variable of the table from `env`.
            pub(crate) fn read_environment(env: &Environment) -> Result<Settings, BuildError> {
                let mut settings = Settings::default();
                $(
                    let variables: &[Variable<$ty>] =
                        &[$( (stringify!($var), $parse) ),*];
                    settings.read_first::<key::$field>(env, variables)?;
                )*
                Ok(settings)
            }

            /// Reads every key of the table from a parsed config file at `path`.
            pub(crate) fn read_file(text: &str, path: &Path) -> Result<Settings, BuildError> {
                #[derive(serde::Deserialize)]
                #[serde(deny_unknown_fields)]
                struct FileSettings {
                    $($( #[serde(rename = $key, default)] $field: Option<toml::Value>, )?)*
                }
                let file: FileSettings = toml::from_str(text).map_err(|e| {
                    BuildError::ConfigFileInvalid {
                        path: path.to_owned(),
                        message: e.to_string().trim_end().to_owned(),
                    }
                })?;
                let mut settings = Settings::default();
                $($(
                    if let Some(value) = file.$field {
                        let origin = Origin::file($key, path);
                        let shown = super::file::show(&value);
                        let read: fn(&toml::Value) -> Result<$ty, String> = $read;
                        let parsed = read(&value).map_err(|reason| origin.error(&shown, reason))?;
                        settings.set::<key::$field>(parsed, origin, Some(&shown))?;
                    }
                )?)*
                Ok(settings)
            }
        }

        /// Names of the environment variables this crate reads.
        ///
        /// ```
        /// use tracing_observer::{config::vars, Observer};
        /// let builder = Observer::builder()
        ///     .environment([(vars::OTEL_SERVICE_NAME, "checkout"), (vars::OTEL_BSP_SCHEDULE_DELAY, "500")]);
        /// assert!(vars::ALL.contains(&vars::OTEL_SERVICE_NAME));
        /// ```
        pub mod vars {
            $($( $(#[$var_doc])* pub const $var: &str = stringify!($var); )*)*

            /// Path of a TOML config file with the builder's keys.
            pub const OBSERVER_CONFIG: &str = "OBSERVER_CONFIG";

            /// Every variable above, in the order of the README's configuration table.
            pub const ALL: &[&str] = &[$($( stringify!($var), )*)* OBSERVER_CONFIG];
        }

        /// The README's configuration table rows of the settings, in table order.
        #[cfg(test)]
        pub(crate) const SETTING_ROWS: &[&[&str]] = &[$( &[$( $cell ),*] ),*];
    };
}

pub(crate) use settings;
