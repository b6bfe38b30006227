//! From the merged settings to the validated [`Config`]: defaults applied, endpoints
//! completed, the modules' configurations assembled.

use super::defaults::{
    DEFAULT_GRPC_ENDPOINT, DEFAULT_HTTP_ENDPOINT, DEFAULT_HTTP_LOGS_ENDPOINT,
    DEFAULT_HTTP_METRICS_ENDPOINT,
};
use super::origin::Origin;
use super::{
    EndpointPath, EndpointSetting, LogsExporter, MetricsExportConfig, MetricsExporter, OtlpConfig,
    Protocol, Settings, TracesExporter,
};
use crate::delivery::DeliveryConfig;
use crate::error::BuildError;
use crate::export::endpoint::{complete_endpoint, ClientIdentity, Signal};
use crate::logs::LogSettings;
use crate::metrics::events::EventMetricsConfig;
use crate::metrics::span::SpanMetricsConfig;
use crate::propagation::Propagators;
use crate::record::Limits;
use crate::sampling::{Sampler, SamplingRule};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The export destination, resolved.
#[derive(Clone, Debug)]
pub(crate) enum ExporterConfig {
    Otlp(OtlpConfig),
    Console,
    None,
}

/// Batching settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchConfig {
    pub(crate) max_queue_size: usize,
    pub(crate) max_export_batch_size: usize,
    pub(crate) max_queue_bytes: usize,
    pub(crate) max_concurrent_exports: usize,
    pub(crate) scheduled_delay: Duration,
    pub(crate) export_timeout: Duration,
}

/// The logs pipeline, when it is on.
#[derive(Clone, Debug)]
pub(crate) struct LogsConfig {
    pub(crate) exporter: ExporterConfig,
    /// Whether `logs_exporter` was left unset, following the traces: a custom span
    /// exporter then turns the logs off.
    pub(crate) follows_traces: bool,
    pub(crate) capture: LogSettings,
    pub(crate) batch: BatchConfig,
}

/// The complete, validated configuration.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) service_name: String,
    pub(crate) resource_attributes: Vec<(String, String)>,
    pub(crate) exporter: ExporterConfig,
    pub(crate) batch: BatchConfig,
    pub(crate) limits: Limits,
    pub(crate) redact_fields: Vec<String>,
    pub(crate) allow_fields: Option<Vec<String>>,
    pub(crate) sampler: Sampler,
    pub(crate) sampling_rules: Vec<SamplingRule>,
    pub(crate) keep_errors: bool,
    pub(crate) slow_span_threshold: Option<Duration>,
    pub(crate) overhead_budget: Option<f64>,
    /// Installed process-wide at build (see [`crate::context::set_propagators`]).
    pub(crate) propagators: Propagators,
    pub(crate) baggage_attributes: Vec<String>,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) disabled: bool,
    pub(crate) span_metrics: SpanMetricsConfig,
    pub(crate) event_metrics: EventMetricsConfig,
    /// The endpoints' address, with where it was set (for the bind error).
    pub(crate) http_addr: Option<(SocketAddr, Origin)>,
    pub(crate) resource_interval: Duration,
    pub(crate) panic_hook: bool,
    pub(crate) max_worker_restarts: usize,
    pub(crate) delivery: DeliveryConfig,
    /// OTLP metrics export, when on.
    pub(crate) metrics_export: Option<MetricsExportConfig>,
    /// The logs pipeline, when on.
    pub(crate) logs: Option<LogsConfig>,
    /// Whether events inside recorded spans become span events.
    pub(crate) span_events: bool,
}

impl Settings {
    /// Applies defaults and validates the combination.
    pub(crate) fn resolve(mut self) -> Result<Config, BuildError> {
        let max_queue_size = self.max_queue_size();
        let batch = BatchConfig {
            max_queue_size,
            // The spec requires batch <= queue; like the SDKs we clamp rather than refuse.
            max_export_batch_size: self.max_export_batch_size().min(max_queue_size),
            max_queue_bytes: self.max_queue_bytes(),
            max_concurrent_exports: self.max_concurrent_exports(),
            scheduled_delay: self.scheduled_delay(),
            export_timeout: self.export_timeout(),
        };
        let limits = Limits {
            max_attributes: self.max_attributes_per_span(),
            max_events: self.max_events_per_span(),
            max_event_attributes: self.max_attributes_per_event(),
            max_links: self.max_links_per_span(),
            max_value_bytes: self.max_attribute_value_bytes(),
            thread_cpu_time: self.cpu_time(),
        };
        let exporter = match self.traces_exporter() {
            TracesExporter::Otlp => ExporterConfig::Otlp(resolve_otlp(&self)?),
            TracesExporter::Console => ExporterConfig::Console,
            TracesExporter::None => ExporterConfig::None,
        };
        let logs = self.logs(&batch, &limits)?;
        let mut resource_attributes = self.resource_attributes();
        if let Some(version) = self.service_version.take() {
            resource_attributes.retain(|(k, _)| k != "service.version");
            resource_attributes.push(("service.version".into(), version));
        }
        let service_name = self
            .service_name
            .clone()
            .or_else(|| {
                resource_attributes
                    .iter()
                    .find(|(k, _)| k == "service.name")
                    .map(|(_, v)| v.clone())
            })
            .or_else(|| self.default_service_name.clone())
            .unwrap_or_else(default_service_name);
        resource_attributes.retain(|(k, _)| k != "service.name");
        Ok(Config {
            logs,
            span_events: self.span_events(),
            delivery: self.delivery(&service_name),
            metrics_export: resolve_metrics(&self)?,
            service_name,
            resource_attributes,
            exporter,
            batch,
            limits,
            redact_fields: self.redact_fields(),
            allow_fields: self.allow_fields.take(),
            sampler: self.sampler(),
            // Each rule was checked when its source was read.
            sampling_rules: self.sampling_rules(),
            keep_errors: self.keep_errors(),
            slow_span_threshold: self.slow_span_threshold,
            overhead_budget: self.overhead_budget,
            propagators: self.propagators(),
            baggage_attributes: self.baggage_attributes(),
            shutdown_timeout: self.shutdown_timeout(),
            disabled: self.disabled(),
            span_metrics: SpanMetricsConfig {
                enabled: self.span_metrics(),
                profile: self.span_metrics_profile(),
                dimensions: self.span_metrics_dimensions(),
                max_series: self.span_metrics_max_series(),
                cpu_time: self.cpu_time(),
            },
            event_metrics: EventMetricsConfig {
                enabled: self.event_metrics(),
                max_series: self.event_metrics_max_series(),
            },
            http_addr: self.http_addr.map(|addr| {
                let origin = self.origins.http_addr.clone();
                (
                    addr,
                    origin.unwrap_or_else(|| Origin::resolved("http_addr")),
                )
            }),
            resource_interval: self.resource_interval(),
            panic_hook: self.panic_hook(),
            max_worker_restarts: self.max_worker_restarts(),
        })
    }
}

impl Settings {
    /// The logs pipeline: its exporter (unset: the traces' kind), capture and batching.
    fn logs(&self, spans: &BatchConfig, limits: &Limits) -> Result<Option<LogsConfig>, BuildError> {
        let follows_traces = self.logs_exporter.is_none();
        let kind = self.logs_exporter.unwrap_or(match self.traces_exporter() {
            TracesExporter::Otlp => LogsExporter::Otlp,
            TracesExporter::Console => LogsExporter::Console,
            TracesExporter::None => LogsExporter::None,
        });
        let exporter = match kind {
            LogsExporter::None => return Ok(None),
            LogsExporter::Console => ExporterConfig::Console,
            // Logs that only follow the traces, to a traces URL with a path of its own,
            // have nowhere known to go: off (`logs_endpoint` or `logs_exporter` says).
            LogsExporter::Otlp if follows_traces && self.logs_url_unknown() => return Ok(None),
            LogsExporter::Otlp => ExporterConfig::Otlp(resolve_logs_otlp(self)?),
        };
        let max_queue_size = self.logs_max_queue_size();
        let batch_size = self.logs_max_export_batch_size().min(max_queue_size);
        let rate = self.logs_rate_limit();
        Ok(Some(LogsConfig {
            exporter,
            follows_traces,
            capture: LogSettings {
                level: self.logs_level().into(),
                per_callsite_rate: (rate > 0).then_some(rate as f64),
                max_attributes: self.max_attributes_per_log(),
                max_value_bytes: (self.max_log_attribute_value_bytes)
                    .unwrap_or(limits.max_value_bytes),
                max_queue_size,
                max_queue_bytes: (spans.max_queue_bytes / 4).max(1),
                batch_size,
            },
            batch: BatchConfig {
                max_queue_size,
                max_export_batch_size: batch_size,
                max_queue_bytes: (spans.max_queue_bytes / 4).max(1),
                max_concurrent_exports: spans.max_concurrent_exports,
                scheduled_delay: self.logs_scheduled_delay(),
                export_timeout: self.logs_export_timeout(),
            },
        }))
    }

    /// Whether the logs URL can be neither read nor derived from the traces endpoint.
    fn logs_url_unknown(&self) -> bool {
        let protocol = self.logs_protocol.unwrap_or(self.protocol());
        self.logs_endpoint.is_none()
            && (self.endpoint.as_ref())
                .is_some_and(|traces| signal_from_traces(traces, protocol, Signal::Logs).is_err())
    }

    fn delivery(&self, service_name: &str) -> DeliveryConfig {
        use crate::delivery::{BreakerConfig, RetryPolicy};
        let retry = RetryPolicy::default()
            .initial_backoff(self.retry_initial_backoff())
            .max_backoff(self.retry_max_backoff())
            .max_elapsed_time(self.retry_max_elapsed_time());
        let mut breaker =
            BreakerConfig::default().probe_interval(crate::delivery::EXPORT_PROBE_INTERVAL);
        if let Some(n) = self.circuit_breaker_threshold {
            breaker = breaker.failure_threshold(n);
        }
        if let Some(t) = self.circuit_breaker_timeout {
            breaker = breaker.open_timeout(t);
        }
        if let Some((rate, min_calls)) = self.circuit_breaker_failure_rate {
            breaker = breaker.failure_rate(rate, min_calls);
        }
        if let Some(window) = self.circuit_breaker_window {
            breaker = breaker.window(window);
        }
        let spool = self.spool().then(|| crate::spool::SpoolConfig {
            dir: self
                .spool_dir
                .clone()
                .unwrap_or_else(|| default_spool_dir(self.data_home.as_deref(), service_name)),
            max_bytes: self.spool_max_bytes(),
            retention: self.spool_retention(),
            archive_dir: self.spool_archive_dir.clone(),
            archive_compress: self.spool_archive_compress(),
            // The builder accepts a zero interval, which would spin: raised to a millisecond.
            cleanup_interval: self.spool_cleanup_interval().max(Duration::from_millis(1)),
            sync_interval: self.spool_sync_interval().max(Duration::from_millis(1)),
        });
        DeliveryConfig {
            retry,
            breaker,
            spool,
        }
    }
}

/// `DATA_HOME/tracing-observer/<service>`, the service name made file-name safe;
/// without a data home, under the temporary directory.
fn default_spool_dir(data_home: Option<&std::path::Path>, service_name: &str) -> PathBuf {
    let safe: String = service_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    data_home
        .map_or_else(std::env::temp_dir, std::path::Path::to_path_buf)
        .join("tracing-observer")
        .join(safe)
}

fn resolve_otlp(settings: &Settings) -> Result<OtlpConfig, BuildError> {
    let protocol = settings.protocol();
    let endpoint = match &settings.endpoint {
        None if protocol == Protocol::Grpc => url::Url::parse(DEFAULT_GRPC_ENDPOINT),
        None => url::Url::parse(DEFAULT_HTTP_ENDPOINT),
        Some(setting) => Ok(complete_endpoint(setting, protocol, Signal::Traces)),
    }
    .expect("default endpoints are valid URLs");
    otlp_config(settings, protocol, endpoint)
}

/// The OTLP logs export: the logs endpoint, protocol, headers, compression and timeout
/// when set, else the traces'; TLS is the traces'.
fn resolve_logs_otlp(settings: &Settings) -> Result<OtlpConfig, BuildError> {
    let protocol = settings.logs_protocol.unwrap_or(settings.protocol());
    let endpoint = match (&settings.logs_endpoint, &settings.endpoint) {
        (Some(setting), _) => complete_endpoint(setting, protocol, Signal::Logs),
        (None, Some(traces)) => signal_from_traces(traces, protocol, Signal::Logs)?,
        (None, None) if protocol == Protocol::Grpc => {
            url::Url::parse(DEFAULT_GRPC_ENDPOINT).expect("a valid URL")
        }
        (None, None) => url::Url::parse(DEFAULT_HTTP_LOGS_ENDPOINT).expect("a valid URL"),
    };
    let mut otlp = otlp_config(settings, protocol, endpoint)?;
    if let Some(headers) = &settings.logs_headers {
        otlp.headers.clone_from(headers);
    }
    if let Some(compression) = settings.logs_compression {
        otlp.compression = compression;
    }
    if let Some(timeout) = settings.logs_request_timeout {
        otlp.timeout = timeout;
    }
    Ok(otlp)
}

/// The OTLP metrics export, when `metrics_exporter` is `otlp`: the metrics endpoint and
/// protocol when set, else the traces'; headers, compression and TLS are the traces'.
fn resolve_metrics(settings: &Settings) -> Result<Option<MetricsExportConfig>, BuildError> {
    if settings.metrics_exporter() == MetricsExporter::None {
        return Ok(None);
    }
    // Zero is refused in one place: the settings' check, in `Settings::set`.
    let interval = settings.metric_export_interval();
    let export_timeout = settings.metric_export_timeout();
    let protocol = settings.metrics_protocol.unwrap_or(settings.protocol());
    let endpoint = match (&settings.metrics_endpoint, &settings.endpoint) {
        (Some(setting), _) => complete_endpoint(setting, protocol, Signal::Metrics),
        (None, Some(traces)) => signal_from_traces(traces, protocol, Signal::Metrics)?,
        (None, None) if protocol == Protocol::Grpc => {
            url::Url::parse(DEFAULT_GRPC_ENDPOINT).expect("a valid URL")
        }
        (None, None) => url::Url::parse(DEFAULT_HTTP_METRICS_ENDPOINT).expect("a valid URL"),
    };
    let mut otlp = otlp_config(settings, protocol, endpoint)?;
    // One request per export, never retried: the export's bound is the request's.
    otlp.timeout = otlp.timeout.min(export_timeout);
    Ok(Some(MetricsExportConfig { otlp, interval }))
}

/// The metrics (or logs) URL that goes with the traces endpoint: for HTTP,
/// `/v1/metrics` (`/v1/logs`) where the traces get `/v1/traces`. A traces URL with a
/// path of its own says nothing about where the signal goes: that is an error naming
/// the setting to use.
fn signal_from_traces(
    traces: &EndpointSetting,
    protocol: Protocol,
    signal: Signal,
) -> Result<url::Url, BuildError> {
    let mut url = complete_endpoint(traces, protocol, Signal::Traces);
    if protocol == Protocol::Grpc || traces.path == EndpointPath::Base {
        return Ok(complete_endpoint(traces, protocol, signal));
    }
    let path = url.path().to_owned();
    match path.strip_suffix(Signal::Traces.path()) {
        Some(base) => {
            url.set_path(&format!("{base}{}", signal.path()));
            Ok(url)
        }
        None => {
            let (setting, variable) = match signal {
                Signal::Logs => ("logs_endpoint", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"),
                _ => ("metrics_endpoint", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
            };
            Err(BuildError::invalid(
                setting,
                url.as_str(),
                format!(
                    "the traces endpoint has its own path, so this URL cannot be derived \
                     from it; set {setting} or {variable}"
                ),
            ))
        }
    }
}

/// The transport settings shared by traces, metrics and logs, for `endpoint`.
fn otlp_config(
    settings: &Settings,
    protocol: Protocol,
    endpoint: url::Url,
) -> Result<OtlpConfig, BuildError> {
    if settings.insecure() && endpoint.scheme() == "https" {
        return Err(origin_of(&settings.origins.insecure, "insecure").error(
            "true",
            format!("conflicts with the https endpoint {endpoint}; use an http:// endpoint for plaintext"),
        ));
    }
    let certificate = match &settings.certificate {
        None => None,
        Some(path) => Some(std::fs::read(path).map_err(|e| {
            origin_of(&settings.origins.certificate, "certificate").error(
                path.display().to_string(),
                format!("cannot read the certificate: {e}"),
            )
        })?),
    };
    Ok(OtlpConfig {
        protocol,
        endpoint,
        headers: settings.headers(),
        compression: settings.compression(),
        timeout: settings.request_timeout(),
        certificate,
        client_identity: client_identity(settings)?,
    })
}

/// The mTLS client certificate and key, read; both or neither.
fn client_identity(settings: &Settings) -> Result<Option<Box<ClientIdentity>>, BuildError> {
    let read = |path: &std::path::Path, origin: &Option<Origin>, setting: &str| {
        std::fs::read(path).map_err(|e| {
            origin_of(origin, setting).error(
                path.display().to_string(),
                format!("cannot read the file: {e}"),
            )
        })
    };
    let origins = &settings.origins;
    match (&settings.client_certificate, &settings.client_key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => Ok(Some(Box::new(ClientIdentity {
            certificate: read(cert, &origins.client_certificate, "client_certificate")?,
            key: read(key, &origins.client_key, "client_key")?,
        }))),
        (Some(cert), None) => Err(origin_of(&origins.client_certificate, "client_certificate")
            .error(
                cert.display().to_string(),
                "needs client_key (OTEL_EXPORTER_OTLP_CLIENT_KEY) too",
            )),
        (None, Some(key)) => Err(origin_of(&origins.client_key, "client_key").error(
            key.display().to_string(),
            "needs client_certificate (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE) too",
        )),
    }
}

/// Where a setting's value came from; a layer built in code (no source) names the setting.
fn origin_of(origin: &Option<Origin>, setting: &str) -> Origin {
    origin.clone().unwrap_or_else(|| Origin::resolved(setting))
}

/// `unknown_service:<executable name>`, as the resource semantic conventions say.
fn default_service_name() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    match exe {
        Some(name) => format!("unknown_service:{name}"),
        None => "unknown_service".into(),
    }
}
