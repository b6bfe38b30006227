//! Environment variables: the OpenTelemetry ones where they exist, `OBSERVER_*` for the
//! rest. The variables and their settings are declared in the [table](super::table);
//! this module looks them up and adds the rules that span two variables.

use super::origin::Origin;
use super::{parse, vars, EndpointPath, Settings};
use crate::error::BuildError;
use std::collections::HashMap;
use std::path::PathBuf;

/// Looks variables up in the process environment or in a given map.
pub(crate) enum Environment {
    Process,
    Map(HashMap<String, String>),
}

impl Environment {
    pub(crate) fn get(&self, name: &str) -> Result<Option<String>, BuildError> {
        let value = match self {
            Self::Process => match std::env::var(name) {
                Ok(v) => Some(v),
                Err(std::env::VarError::NotPresent) => None,
                Err(std::env::VarError::NotUnicode(raw)) => {
                    return Err(
                        Origin::environment(name).error(raw.to_string_lossy(), "not valid UTF-8")
                    )
                }
            },
            Self::Map(map) => map.get(name).cloned(),
        };
        // The spec treats an empty variable as unset.
        Ok(value.filter(|v| !v.trim().is_empty()))
    }

    /// The config file named by `OBSERVER_CONFIG`.
    pub(crate) fn config_file(&self) -> Result<Option<PathBuf>, BuildError> {
        Ok(self.get(vars::OBSERVER_CONFIG)?.map(PathBuf::from))
    }

    /// Reads every variable this crate knows into a settings layer.
    pub(crate) fn settings(&self) -> Result<Settings, BuildError> {
        let mut settings = Settings::read_environment(self)?;
        // The traces-specific endpoint is for traces only: metrics go to the general
        // one, if set.
        if settings.metrics_endpoint.is_none()
            && settings
                .endpoint
                .as_ref()
                .is_some_and(|e| e.path == EndpointPath::Exact)
        {
            let name = vars::OTEL_EXPORTER_OTLP_ENDPOINT;
            if let Some(text) = self.get(name)? {
                let origin = Origin::environment(name);
                let endpoint =
                    parse::base_endpoint(&text).map_err(|reason| origin.error(&text, reason))?;
                settings.metrics_endpoint = Some(endpoint);
                settings.origins.metrics_endpoint = Some(origin);
            }
        }
        // The default spool directory lives under the XDG data home.
        let data_home = match self.get("XDG_DATA_HOME")? {
            Some(dir) => Some((PathBuf::from(dir), "XDG_DATA_HOME")),
            None => self
                .get("HOME")?
                .map(|home| (PathBuf::from(home).join(".local").join("share"), "HOME")),
        };
        if let Some((dir, name)) = data_home {
            settings.data_home = Some(dir);
            settings.origins.data_home = Some(Origin::environment(name));
        }
        Ok(settings.finish_layer())
    }
}
