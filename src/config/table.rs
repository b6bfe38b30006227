//! The settings, each declared once: its field, environment variables, config-file
//! key, validation, default and README row (see [`settings!`](super::declare)).

use super::declare::settings;
use super::defaults::*;
use super::env::Environment;
use super::origin::{Origin, SettingValue};
use super::{check, file, parse};
use super::{
    Compression, EndpointSetting, LogsExporter, MetricsExporter, Protocol, TracesExporter,
};
use crate::delivery::{DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_BACKOFF, DEFAULT_MAX_ELAPSED_TIME};
use crate::error::BuildError;
use crate::propagation::Propagators;
use crate::record::policy::DEFAULT_REDACT_PATTERNS;
use crate::sampling::{Sampler, SamplingRule};
use crate::spool;
use crate::tally::SpanMetricsProfile;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tracing_core::Level;

/// An environment variable and the parser of its text.
pub(crate) type Variable<T> = (&'static str, fn(&str) -> Result<T, String>);

/// A setting of the table, named by its type in [`key`].
pub(crate) trait Key {
    /// The type of the setting's value.
    type Value: SettingValue;
    /// The setting's name: its field, builder method and (mostly) config-file key.
    const NAME: &'static str;
    /// The setting's slot and origin in a layer.
    fn slot(settings: &mut Settings) -> (&mut Option<Self::Value>, &mut Option<Origin>);
    /// The setting's validation, the same for every source.
    fn check(value: &Self::Value) -> Result<(), String>;
}

impl Settings {
    /// Validates `value` and stores it with its origin; the error shows `raw` (the
    /// value as written) when given.
    pub(crate) fn set<K: Key>(
        &mut self,
        value: K::Value,
        origin: Origin,
        raw: Option<&str>,
    ) -> Result<(), BuildError> {
        K::check(&value).map_err(|reason| {
            origin.error(raw.map_or_else(|| value.show(), str::to_owned), reason)
        })?;
        let (slot, slot_origin) = K::slot(self);
        *slot = Some(value);
        *slot_origin = Some(origin);
        Ok(())
    }

    /// Reads the first of `variables` that is set.
    fn read_first<K: Key>(
        &mut self,
        env: &Environment,
        variables: &[Variable<K::Value>],
    ) -> Result<(), BuildError> {
        for (name, parse) in variables {
            if let Some(text) = env.get(name)? {
                let origin = Origin::environment(name);
                let value = parse(&text).map_err(|reason| origin.error(&text, reason))?;
                return self.set::<K>(value, origin, Some(&text));
            }
        }
        Ok(())
    }

    /// Completes one source's layer: its `sampler_arg` goes into its `sampler` (an
    /// argument never applies to another source's sampler).
    pub(crate) fn finish_layer(mut self) -> Self {
        if let Some(ratio) = self.sampler_arg.take() {
            if let Some(sampler) = self.sampler.take() {
                self.sampler = Some(parse::with_ratio(sampler, ratio));
            }
            self.origins.sampler_arg = None;
        }
        self
    }
}

/// README rows of what only the builder sets.
#[cfg(test)]
pub(crate) const BUILDER_ONLY_ROWS: &[&[&str]] = &[
    &[
        "`retry_policy(RetryPolicy)` (the three retry settings at once, e.g. `RetryPolicy::none()`)",
        "—",
        "—",
        "—",
    ],
    &["`config_file`", "`OBSERVER_CONFIG`", "—", "none"],
    &[
        "`resource_monitor(impl ResourceMonitor)` (`NullMonitor` turns process metrics off)",
        "—",
        "—",
        "`SysinfoMonitor`",
    ],
    &["`exporter(impl SpanExporter)`", "—", "—", "—"],
    &[
        "`environment(vars)` (read these instead of the process environment)",
        "—",
        "—",
        "—",
    ],
];

/// The README's configuration table, header included (`tests/readme.rs` in the
/// crate's unit tests holds README.md to it).
#[cfg(test)]
pub(crate) fn readme_table() -> String {
    let mut table = String::from(
        "| builder method | environment variable | config-file key | default |\n|---|---|---|---|\n",
    );
    for row in SETTING_ROWS
        .iter()
        .chain(BUILDER_ONLY_ROWS)
        .filter(|r| !r.is_empty())
    {
        table.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    table
}

settings! {
    service_name: String {
        env: [/// The `service.name` resource attribute.
              OTEL_SERVICE_NAME => parse::text],
        file: ["service_name" => file::text],
        check: check::any,
        row: ["`service_name`", "`OTEL_SERVICE_NAME`", "`service_name`", "`unknown_service:<executable>`"],
    }
    /// The service name when no layer names one (builder only).
    default_service_name: String {
        env: [],
        file: [],
        check: check::any,
        row: ["`default_service_name` (used only when nothing else names the service)", "—", "—", "`unknown_service:<executable>`"],
    }
    service_version: String {
        env: [],
        file: ["service_version" => file::text],
        check: check::any,
        row: ["`service_version`", "`service.version` in `OTEL_RESOURCE_ATTRIBUTES`", "`service_version`", "none"],
    }
    resource_attributes: Vec<(String, String)> {
        env: [/// Extra resource attributes, `key=value,key=value`.
              OTEL_RESOURCE_ATTRIBUTES => parse::key_values],
        file: ["resource_attributes" => file::table],
        check: check::any,
        default: Vec::new(),
        row: ["`resource_attribute(k, v)`", "`OTEL_RESOURCE_ATTRIBUTES=k=v,…`", "`resource_attributes` (table)", "none"],
    }
    traces_exporter: TracesExporter {
        env: [/// Where spans go: `otlp`, `console` or `none`.
              OTEL_TRACES_EXPORTER => parse::traces_exporter],
        file: ["traces_exporter" => |v| file::with(v, parse::traces_exporter)],
        check: check::any,
        default: TracesExporter::default(),
        row: ["`traces_exporter`", "`OTEL_TRACES_EXPORTER=otlp\\|console\\|none`", "`traces_exporter`", "`otlp`"],
    }
    endpoint: EndpointSetting {
        env: [/// The OTLP traces endpoint, used as is.
              OTEL_EXPORTER_OTLP_TRACES_ENDPOINT => parse::exact_endpoint,
              /// The OTLP base URL: `/v1/traces` (`/v1/metrics`) is appended for HTTP.
              OTEL_EXPORTER_OTLP_ENDPOINT => parse::base_endpoint],
        file: ["endpoint" => |v| file::with(v, parse::completed_endpoint)],
        check: check::any,
        row: ["`endpoint`", "`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (as is), `OTEL_EXPORTER_OTLP_ENDPOINT` (base URL)", "`endpoint`", "`http://localhost:4317` (gRPC), `http://localhost:4318/v1/traces` (HTTP)"],
    }
    protocol: Protocol {
        env: [/// The OTLP traces transport: `grpc`, `http/protobuf` or `http/json`.
              OTEL_EXPORTER_OTLP_TRACES_PROTOCOL => parse::protocol,
              /// The OTLP transport: `grpc`, `http/protobuf` or `http/json`.
              OTEL_EXPORTER_OTLP_PROTOCOL => parse::protocol],
        file: ["protocol" => |v| file::with(v, parse::protocol)],
        check: check::any,
        default: Protocol::default(),
        row: ["`protocol`", "`OTEL_EXPORTER_OTLP_{TRACES_,}PROTOCOL=grpc\\|http/protobuf\\|http/json`", "`protocol`", "`grpc`"],
    }
    headers: Vec<(String, String)> {
        env: [/// Headers of every traces export request, `key=value,…`.
              OTEL_EXPORTER_OTLP_TRACES_HEADERS => parse::key_values,
              /// Headers of every export request, `key=value,…`.
              OTEL_EXPORTER_OTLP_HEADERS => parse::key_values],
        file: ["headers" => file::table],
        check: check::any,
        default: Vec::new(),
        row: ["`header(k, v)`", "`OTEL_EXPORTER_OTLP_{TRACES_,}HEADERS=k=v,…`", "`headers` (table)", "none"],
    }
    compression: Compression {
        env: [/// Compression of traces export requests: `gzip` or `none`.
              OTEL_EXPORTER_OTLP_TRACES_COMPRESSION => parse::compression,
              /// Compression of export requests: `gzip` or `none`.
              OTEL_EXPORTER_OTLP_COMPRESSION => parse::compression],
        file: ["compression" => |v| file::with(v, parse::compression)],
        check: check::any,
        default: Compression::default(),
        row: ["`compression`", "`OTEL_EXPORTER_OTLP_{TRACES_,}COMPRESSION=gzip\\|none`", "`compression`", "none"],
    }
    request_timeout: Duration {
        env: [/// Timeout of one OTLP traces request, in milliseconds.
              OTEL_EXPORTER_OTLP_TRACES_TIMEOUT => parse::millis,
              /// Timeout of one OTLP request, in milliseconds.
              OTEL_EXPORTER_OTLP_TIMEOUT => parse::millis],
        file: ["request_timeout" => file::duration],
        check: check::any,
        default: DEFAULT_REQUEST_TIMEOUT,
        row: ["`request_timeout`", "`OTEL_EXPORTER_OTLP_{TRACES_,}TIMEOUT` (ms)", "`request_timeout`", "10 s"],
    }
    certificate: PathBuf {
        env: [/// PEM file of the CA that signs the collector's certificate (traces).
              OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE => parse::path,
              /// PEM file of the CA that signs the collector's certificate.
              OTEL_EXPORTER_OTLP_CERTIFICATE => parse::path],
        file: ["certificate" => file::path],
        check: check::any,
        row: ["`certificate`", "`OTEL_EXPORTER_OTLP_{TRACES_,}CERTIFICATE` (PEM CA file)", "`certificate`", "system roots"],
    }
    client_certificate: PathBuf {
        env: [/// PEM file of the client certificate (chain) for mTLS (traces).
              OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE => parse::path,
              /// PEM file of the client certificate (chain) for mTLS.
              OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE => parse::path],
        file: ["client_certificate" => file::path],
        check: check::any,
        row: ["`client_certificate`", "`OTEL_EXPORTER_OTLP_{TRACES_,}CLIENT_CERTIFICATE` (PEM file; mTLS, with `client_key`)", "`client_certificate`", "none"],
    }
    client_key: PathBuf {
        env: [/// PEM file of the client certificate's private key for mTLS (traces).
              OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY => parse::path,
              /// PEM file of the client certificate's private key for mTLS.
              OTEL_EXPORTER_OTLP_CLIENT_KEY => parse::path],
        file: ["client_key" => file::path],
        check: check::any,
        row: ["`client_key`", "`OTEL_EXPORTER_OTLP_{TRACES_,}CLIENT_KEY` (PEM private key of `client_certificate`)", "`client_key`", "none"],
    }
    /// Plaintext to the collector; refused with an https endpoint.
    insecure: bool {
        env: [/// `true` for plaintext to the collector (traces).
              OTEL_EXPORTER_OTLP_TRACES_INSECURE => parse::boolean,
              /// `true` for plaintext to the collector.
              OTEL_EXPORTER_OTLP_INSECURE => parse::boolean],
        file: ["insecure" => file::boolean],
        check: check::any,
        default: false,
        row: ["—", "`OTEL_EXPORTER_OTLP_{TRACES_,}INSECURE` (refused with an https endpoint)", "`insecure`", "false"],
    }
    max_queue_size: usize {
        env: [/// Spans held in the queue at most.
              OTEL_BSP_MAX_QUEUE_SIZE => parse::integer],
        file: ["max_queue_size" => file::integer],
        check: check::positive,
        default: DEFAULT_MAX_QUEUE_SIZE,
        row: ["`max_queue_size`", "`OTEL_BSP_MAX_QUEUE_SIZE`", "`max_queue_size`", "65 536 spans"],
    }
    max_queue_bytes: usize {
        env: [/// Bytes the queue holds at most (`64MiB`, `1GiB`, or a number of bytes).
              OBSERVER_MAX_QUEUE_BYTES => parse::bytes],
        file: ["max_queue_bytes" => file::integer],
        check: check::positive,
        default: DEFAULT_MAX_QUEUE_BYTES,
        row: ["`max_queue_bytes`", "`OBSERVER_MAX_QUEUE_BYTES` (`64MiB`, `1GiB`, bytes)", "`max_queue_bytes`", "64 MiB"],
    }
    max_export_batch_size: usize {
        env: [/// Spans per export request at most.
              OTEL_BSP_MAX_EXPORT_BATCH_SIZE => parse::integer],
        file: ["max_export_batch_size" => file::integer],
        check: check::positive,
        default: DEFAULT_MAX_EXPORT_BATCH_SIZE,
        row: ["`max_export_batch_size`", "`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`", "`max_export_batch_size`", "512"],
    }
    max_concurrent_exports: usize {
        env: [/// Export requests in flight at once.
              OTEL_BSP_MAX_CONCURRENT_EXPORTS => parse::integer],
        file: ["max_concurrent_exports" => file::integer],
        check: check::positive,
        default: DEFAULT_MAX_CONCURRENT_EXPORTS,
        row: ["`max_concurrent_exports`", "`OTEL_BSP_MAX_CONCURRENT_EXPORTS`", "`max_concurrent_exports`", "4"],
    }
    scheduled_delay: Duration {
        env: [/// Longest wait before a partial batch is exported, in milliseconds.
              OTEL_BSP_SCHEDULE_DELAY => parse::millis],
        file: ["scheduled_delay" => file::duration],
        check: check::positive,
        default: DEFAULT_SCHEDULED_DELAY,
        row: ["`scheduled_delay`", "`OTEL_BSP_SCHEDULE_DELAY` (ms)", "`scheduled_delay`", "5 s"],
    }
    export_timeout: Duration {
        env: [/// Longest time one batch export may take, in milliseconds.
              OTEL_BSP_EXPORT_TIMEOUT => parse::millis],
        file: ["export_timeout" => file::duration],
        check: check::any,
        default: DEFAULT_EXPORT_TIMEOUT,
        row: ["`export_timeout`", "`OTEL_BSP_EXPORT_TIMEOUT` (ms)", "`export_timeout`", "30 s"],
    }
    max_attributes_per_span: usize {
        env: [/// Attributes kept per span.
              OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT => parse::integer],
        file: ["max_attributes_per_span" => file::integer],
        check: check::positive,
        default: DEFAULT_MAX_ATTRIBUTES_PER_SPAN,
        row: ["`max_attributes_per_span`", "`OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`", "`max_attributes_per_span`", "128"],
    }
    max_events_per_span: usize {
        env: [/// Events kept per span.
              OTEL_SPAN_EVENT_COUNT_LIMIT => parse::integer],
        file: ["max_events_per_span" => file::integer],
        check: check::positive,
        default: DEFAULT_MAX_EVENTS_PER_SPAN,
        row: ["`max_events_per_span`", "`OTEL_SPAN_EVENT_COUNT_LIMIT` (errors get as many again)", "`max_events_per_span`", "128"],
    }
    max_links_per_span: usize {
        env: [/// Links kept per span.
              OTEL_SPAN_LINK_COUNT_LIMIT => parse::integer],
        file: ["max_links_per_span" => file::integer],
        check: check::positive,
        default: DEFAULT_MAX_LINKS_PER_SPAN,
        row: ["`max_links_per_span`", "`OTEL_SPAN_LINK_COUNT_LIMIT`", "`max_links_per_span`", "128"],
    }
    max_attributes_per_event: usize {
        env: [/// Attributes kept per event.
              OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT => parse::integer],
        file: ["max_attributes_per_event" => file::integer],
        check: check::positive,
        default: DEFAULT_MAX_ATTRIBUTES_PER_EVENT,
        row: ["`max_attributes_per_event`", "`OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`", "`max_attributes_per_event`", "128"],
    }
    max_attribute_value_bytes: usize {
        env: [/// Bytes kept of one span attribute value; wins over `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`.
              OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT => parse::integer,
              /// Bytes kept of one attribute value.
              OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT => parse::integer],
        file: ["max_attribute_value_bytes" => file::integer],
        check: check::positive,
        default: DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES,
        row: ["`max_attribute_value_bytes`", "`OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`, `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`", "`max_attribute_value_bytes`", "4096 bytes"],
    }
    redact_fields: Vec<String> {
        env: [/// Field-name patterns whose values are replaced by `[REDACTED]` (comma-separated, `none` for none).
              OBSERVER_REDACT_FIELDS => parse::name_list],
        file: ["redact_fields" => file::names],
        check: check::any,
        default: DEFAULT_REDACT_PATTERNS.iter().map(|p| (*p).to_owned()).collect(),
        row: ["`redact_fields`", "`OBSERVER_REDACT_FIELDS=a,b` (`none` to turn off)", "`redact_fields`", "`password`, `secret`, `token`, `authorization`, `api_key`, `cookie` (case-insensitive substrings)"],
    }
    allow_fields: Vec<String> {
        env: [/// When set, only these field names are exported (comma-separated).
              OBSERVER_ALLOW_FIELDS => parse::name_list],
        file: ["allow_fields" => file::names],
        check: check::any,
        row: ["`allow_fields`", "`OBSERVER_ALLOW_FIELDS=a,b`", "`allow_fields`", "every field"],
    }
    sampler: Sampler {
        env: [/// The head sampler: `always_on`, `always_off`, `traceidratio`, `parentbased_*`.
              OTEL_TRACES_SAMPLER => parse::sampler],
        file: ["sampler" => |v| file::with(v, parse::sampler)],
        check: check::any,
        default: Sampler::default(),
        row: ["`sampler`", "`OTEL_TRACES_SAMPLER` + `OTEL_TRACES_SAMPLER_ARG` (`always_on`, `always_off`, `traceidratio`, `parentbased_*`)", "`sampler`, `sampler_arg`", "`parentbased_always_on`"],
    }
    /// The ratio of the same source's `traceidratio` sampler (see [`Settings::finish_layer`]).
    sampler_arg: f64 {
        env: [/// The ratio of the `traceidratio` samplers.
              OTEL_TRACES_SAMPLER_ARG => parse::ratio_number],
        file: ["sampler_arg" => file::ratio],
        check: check::ratio,
        row: [],
    }
    sampling_rules: Vec<SamplingRule> {
        env: [/// Sampling rules: `TARGET[/NAME]=RATIO[@RATE],…`.
              OBSERVER_SAMPLING_RULES => parse::sampling_rules],
        file: ["sampling_rules" => file::sampling_rules],
        check: check::sampling_rules,
        default: Vec::new(),
        row: ["`sampling_rule(SamplingRule)` (repeatable)", "`OBSERVER_SAMPLING_RULES=TARGET[/NAME]=RATIO[@RATE],…`", "`sampling_rules` (`[[sampling_rules]]`)", "none"],
    }
    keep_errors: bool {
        env: [/// Keep failing spans (and their local ancestors) that head sampling dropped: `true` or `false`.
              OBSERVER_KEEP_ERRORS => parse::boolean],
        file: ["keep_errors" => file::boolean],
        check: check::any,
        default: true,
        row: ["`keep_errors`", "`OBSERVER_KEEP_ERRORS`", "`keep_errors`", "true"],
    }
    slow_span_threshold: Duration {
        env: [/// Keep spans at least this slow that head sampling dropped (`500ms`, `2s`).
              OBSERVER_SLOW_SPAN_THRESHOLD => parse::duration],
        file: ["slow_span_threshold" => file::duration],
        check: check::any,
        row: ["`slow_span_threshold`", "`OBSERVER_SLOW_SPAN_THRESHOLD` (`500ms`)", "`slow_span_threshold`", "off"],
    }
    overhead_budget: f64 {
        env: [/// The overhead budget (`0.02` or `2%`): above it, head sampling is lowered.
              OBSERVER_OVERHEAD_BUDGET => parse::budget,
              /// The former name of [`OBSERVER_OVERHEAD_BUDGET`], still read when that one is unset.
              #[deprecated(note = "use OBSERVER_OVERHEAD_BUDGET, named like `ObserverBuilder::overhead_budget`")]
              OBSERVER_OVERHEAD_THRESHOLD => parse::budget],
        file: ["overhead_budget" => file::budget],
        check: check::fraction,
        row: ["`overhead_budget`", "`OBSERVER_OVERHEAD_BUDGET` (`0.02` or `2%`; deprecated alias: `OBSERVER_OVERHEAD_THRESHOLD`)", "`overhead_budget`", "off (the ratio is always measured)"],
    }
    propagators: Propagators {
        env: [/// The header formats of trace context and baggage, comma-separated: `tracecontext`, `baggage`, `b3`, `b3multi`, `jaeger`; or `none`.
              OTEL_PROPAGATORS => |text| text.parse()],
        file: ["propagators" => |v| match v.as_array() {
            Some(_) => file::names(v)?.join(",").parse(),
            None => file::with(v, |text| text.parse()),
        }],
        check: check::any,
        default: Propagators::default(),
        row: ["`propagators`", "`OTEL_PROPAGATORS=tracecontext,baggage,b3,b3multi,jaeger\\|none` (in order; process-wide, see below)", "`propagators` (`\"b3,tracecontext\"` or an array)", "`tracecontext,baggage`"],
    }
    baggage_attributes: Vec<String> {
        env: [/// Baggage keys recorded as attributes of the span the baggage arrives with (comma-separated).
              OBSERVER_BAGGAGE_ATTRIBUTES => parse::name_list],
        file: ["baggage_attributes" => file::names],
        check: check::baggage_keys,
        default: Vec::new(),
        row: ["`baggage_attributes`", "`OBSERVER_BAGGAGE_ATTRIBUTES=a,b` (the field policy applies)", "`baggage_attributes`", "none"],
    }
    cpu_time: bool {
        env: [/// Measure each span's thread CPU time while entered: `true` or `false`.
              OBSERVER_CPU_TIME => parse::boolean],
        file: ["cpu_time" => file::boolean],
        check: check::any,
        default: false,
        row: ["`cpu_time`", "`OBSERVER_CPU_TIME` (per-span `thread.cpu_time_ns`; the thread CPU clock is a syscall, ~660 ns here)", "`cpu_time`", "false"],
    }
    shutdown_timeout: Duration {
        env: [/// Timeout of the shutdown run when the observer is dropped (`5s`, `500ms`, or milliseconds).
              OBSERVER_SHUTDOWN_TIMEOUT => parse::duration],
        file: ["shutdown_timeout" => file::duration],
        check: check::any,
        default: DEFAULT_SHUTDOWN_TIMEOUT,
        row: ["`shutdown_timeout` (used on drop)", "`OBSERVER_SHUTDOWN_TIMEOUT` (`5s`, `500ms`)", "`shutdown_timeout`", "5 s"],
    }
    disabled: bool {
        env: [/// Disables the observer: the layer becomes a no-op.
              OTEL_SDK_DISABLED => parse::boolean],
        file: ["disabled" => file::boolean],
        check: check::any,
        default: false,
        row: ["`disabled`", "`OTEL_SDK_DISABLED=true`", "`disabled`", "false"],
    }
    spool: bool {
        env: [/// `off` disables the disk spool (`on` is the default).
              OBSERVER_SPOOL => parse::on_off],
        file: ["spool" => file::boolean],
        check: check::any,
        default: true,
        row: ["`spool`", "`OBSERVER_SPOOL=off`", "`spool`", "on"],
    }
    spool_dir: PathBuf {
        env: [/// The spool directory.
              OBSERVER_SPOOL_DIR => parse::path],
        file: ["spool_dir" => file::path],
        check: check::any,
        row: ["`spool_dir`", "`OBSERVER_SPOOL_DIR`", "`spool_dir`", "`$XDG_DATA_HOME/tracing-observer/<service>` (else `~/.local/share/…`, else the temp dir)"],
    }
    spool_max_bytes: u64 {
        env: [/// Bytes the spool may hold (`1073741824`, `512MiB`, `1GiB`).
              OBSERVER_SPOOL_MAX_BYTES => |v| parse::bytes(v).map(|n| n as u64)],
        file: ["spool_max_bytes" => |v| file::integer(v).map(|n| n as u64)],
        check: check::positive,
        default: spool::DEFAULT_MAX_BYTES,
        row: ["`spool_max_bytes`", "`OBSERVER_SPOOL_MAX_BYTES` (`1073741824`, `512MiB`, `1GiB`)", "`spool_max_bytes`", "1 GiB"],
    }
    spool_retention: Duration {
        env: [/// How long spooled batches are kept (`6h`).
              OBSERVER_SPOOL_RETENTION => parse::duration],
        file: ["spool_retention" => file::duration],
        check: check::any,
        default: spool::DEFAULT_RETENTION,
        row: ["`spool_retention`", "`OBSERVER_SPOOL_RETENTION` (`6h`)", "`spool_retention`", "6 h"],
    }
    spool_archive_dir: PathBuf {
        env: [/// Where expired and evicted segments are moved instead of deleted.
              OBSERVER_SPOOL_ARCHIVE_DIR => parse::path],
        file: ["spool_archive_dir" => file::path],
        check: check::any,
        row: ["`spool_archive_dir`", "`OBSERVER_SPOOL_ARCHIVE_DIR`", "`spool_archive_dir`", "none (expired segments are deleted)"],
    }
    spool_archive_compress: bool {
        env: [/// Whether archived segments are gzipped (`true`/`false`).
              OBSERVER_SPOOL_ARCHIVE_COMPRESS => parse::boolean],
        file: ["spool_archive_compress" => file::boolean],
        check: check::any,
        default: false,
        row: ["`spool_archive_compress`", "`OBSERVER_SPOOL_ARCHIVE_COMPRESS=true\\|false` (gzip archived segments to `<segment>.gz`)", "`spool_archive_compress`", "false"],
    }
    spool_cleanup_interval: Duration {
        env: [],
        file: ["spool_cleanup_interval" => file::duration],
        check: check::any,
        default: spool::DEFAULT_CLEANUP_INTERVAL,
        row: ["`spool_cleanup_interval`, `spool_sync_interval`", "—", "`spool_cleanup_interval`, `spool_sync_interval`", "60 s, 1 s"],
    }
    spool_sync_interval: Duration {
        env: [],
        file: ["spool_sync_interval" => file::duration],
        check: check::any,
        default: spool::DEFAULT_SYNC_INTERVAL,
        row: [],
    }
    circuit_breaker_threshold: u32 {
        env: [/// Consecutive export failures that open the circuit breaker.
              OBSERVER_CIRCUIT_BREAKER_THRESHOLD => |v| parse::integer(v).map(|n| u32::try_from(n).unwrap_or(u32::MAX))],
        file: ["circuit_breaker_threshold" => |v| file::integer(v).map(|n| u32::try_from(n).unwrap_or(u32::MAX))],
        check: check::positive,
        row: ["`circuit_breaker_threshold`", "`OBSERVER_CIRCUIT_BREAKER_THRESHOLD` (consecutive failures)", "`circuit_breaker_threshold`", "5"],
    }
    circuit_breaker_timeout: Duration {
        env: [/// The longest the open breaker waits before a probe (`30s`): the first comes
              /// after 250 ms, each failed one doubles the wait.
              OBSERVER_CIRCUIT_BREAKER_TIMEOUT => parse::duration],
        file: ["circuit_breaker_timeout" => file::duration],
        check: check::any,
        row: ["`circuit_breaker_timeout`", "`OBSERVER_CIRCUIT_BREAKER_TIMEOUT` (`30s`; the longest wait before a probe: the first after 250 ms, doubling after each failed one)", "`circuit_breaker_timeout`", "30 s"],
    }
    /// The failure-rate rule: rate and minimum calls in the window.
    circuit_breaker_failure_rate: (f64, u32) {
        env: [/// The breaker's failure-rate rule, `RATE/MIN_CALLS`: open when at least `RATE` of the
              /// calls in the window failed, once it holds `MIN_CALLS` calls (`0.5/20`). Unset: off.
              OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE => parse::failure_rate],
        file: ["circuit_breaker_failure_rate" => |v| file::with(v, parse::failure_rate)],
        check: check::failure_rate,
        row: ["`circuit_breaker_failure_rate(rate, min_calls)`", "`OBSERVER_CIRCUIT_BREAKER_FAILURE_RATE=RATE/MIN_CALLS` (`0.5/20`: open when half of 20 or more exports in the window failed)", "`circuit_breaker_failure_rate` (`\"0.5/20\"`)", "off (consecutive failures only)"],
    }
    circuit_breaker_window: Duration {
        env: [/// The sliding window the failure rate is computed over (`60s`).
              OBSERVER_CIRCUIT_BREAKER_WINDOW => parse::duration],
        file: ["circuit_breaker_window" => file::duration],
        check: check::positive,
        row: ["`circuit_breaker_window`", "`OBSERVER_CIRCUIT_BREAKER_WINDOW` (`60s`; the failure rate's sliding window)", "`circuit_breaker_window`", "60 s"],
    }
    retry_initial_backoff: Duration {
        env: [/// First retry delay (`1s`).
              OBSERVER_RETRY_INITIAL_BACKOFF => parse::duration],
        file: ["retry_initial_backoff" => file::duration],
        check: check::any,
        default: DEFAULT_INITIAL_BACKOFF,
        row: ["`retry_initial_backoff`", "`OBSERVER_RETRY_INITIAL_BACKOFF`", "`retry_initial_backoff`", "1 s"],
    }
    retry_max_backoff: Duration {
        env: [/// Longest retry delay (`30s`).
              OBSERVER_RETRY_MAX_BACKOFF => parse::duration],
        file: ["retry_max_backoff" => file::duration],
        check: check::any,
        default: DEFAULT_MAX_BACKOFF,
        row: ["`retry_max_backoff`", "`OBSERVER_RETRY_MAX_BACKOFF`", "`retry_max_backoff`", "30 s"],
    }
    retry_max_elapsed_time: Duration {
        env: [/// Time after which a failing batch is spooled instead of retried (`60s`).
              OBSERVER_RETRY_MAX_ELAPSED_TIME => parse::duration],
        file: ["retry_max_elapsed_time" => file::duration],
        check: check::any,
        default: DEFAULT_MAX_ELAPSED_TIME,
        row: ["`retry_max_elapsed_time`", "`OBSERVER_RETRY_MAX_ELAPSED_TIME`", "`retry_max_elapsed_time`", "60 s"],
    }
    /// Where the default spool directory is: `XDG_DATA_HOME` or `HOME` (environment only).
    data_home: PathBuf {
        env: [],
        file: [],
        check: check::any,
        row: [],
    }
    span_metrics: bool {
        env: [/// Span metrics (RED) on or off: `true` or `false`.
              OBSERVER_SPAN_METRICS => parse::boolean],
        file: ["span_metrics" => file::boolean],
        check: check::any,
        default: true,
        row: ["`span_metrics`", "`OBSERVER_SPAN_METRICS=true\\|false`", "`span_metrics`", "true"],
    }
    span_metrics_profile: SpanMetricsProfile {
        env: [/// Span-metrics naming: `collector` or `tempo`.
              OBSERVER_SPAN_METRICS_PROFILE => parse::span_metrics_profile],
        file: ["span_metrics_profile" => |v| file::with(v, parse::span_metrics_profile)],
        check: check::any,
        default: SpanMetricsProfile::default(),
        row: ["`span_metrics_profile`", "`OBSERVER_SPAN_METRICS_PROFILE=collector\\|tempo`", "`span_metrics_profile`", "`collector`"],
    }
    span_metrics_dimensions: Vec<String> {
        env: [/// Extra span-metrics dimensions, comma-separated (e.g. `code.module.name`).
              OBSERVER_SPAN_METRICS_DIMENSIONS => parse::name_list],
        file: ["span_metrics_dimensions" => file::names],
        check: check::any,
        default: Vec::new(),
        row: ["`span_metrics_dimensions`", "`OBSERVER_SPAN_METRICS_DIMENSIONS=a,b` (attribute keys, or `code.module.name`, `code.function.name`, `code.file.path`, `level`)", "`span_metrics_dimensions`", "none"],
    }
    span_metrics_max_series: usize {
        env: [/// Span-metrics label sets at most.
              OBSERVER_SPAN_METRICS_MAX_SERIES => parse::integer],
        file: ["span_metrics_max_series" => file::integer],
        check: check::positive,
        default: DEFAULT_SPAN_METRICS_MAX_SERIES,
        row: ["`span_metrics_max_series`", "`OBSERVER_SPAN_METRICS_MAX_SERIES`", "`span_metrics_max_series`", "1000 label sets"],
    }
    event_metrics: bool {
        env: [/// Event metrics (fields `monotonic_counter.*`, `counter.*`, `histogram.*`, `gauge.*`) on or off.
              OBSERVER_EVENT_METRICS => parse::boolean],
        file: ["event_metrics" => file::boolean],
        check: check::any,
        default: true,
        row: ["`event_metrics`", "`OBSERVER_EVENT_METRICS=true\\|false` (event fields `monotonic_counter.*`, `counter.*`, `histogram.*`, `gauge.*` as metrics; see below)", "`event_metrics`", "true"],
    }
    event_metrics_max_series: usize {
        env: [/// Event-metrics label sets at most, over all event metrics.
              OBSERVER_EVENT_METRICS_MAX_SERIES => parse::integer],
        file: ["event_metrics_max_series" => file::integer],
        check: check::positive,
        default: DEFAULT_EVENT_METRICS_MAX_SERIES,
        row: ["`event_metrics_max_series`", "`OBSERVER_EVENT_METRICS_MAX_SERIES`", "`event_metrics_max_series`", "1000 label sets"],
    }
    metrics_exporter: MetricsExporter {
        env: [/// `none` (metrics stay on `/metrics`) or `otlp` (also pushed to the collector).
              OTEL_METRICS_EXPORTER => parse::metrics_exporter],
        file: ["metrics_exporter" => |v| file::with(v, parse::metrics_exporter)],
        check: check::any,
        default: MetricsExporter::default(),
        row: ["`metrics_exporter`", "`OTEL_METRICS_EXPORTER=none\\|otlp` (the spec's default is `otlp`; see below)", "`metrics_exporter`", "`none`"],
    }
    metric_export_interval: Duration {
        env: [/// Time between two OTLP metrics exports, in milliseconds.
              OTEL_METRIC_EXPORT_INTERVAL => parse::millis],
        file: ["metric_export_interval" => file::duration],
        check: check::positive,
        default: DEFAULT_METRIC_EXPORT_INTERVAL,
        row: ["`metric_export_interval`", "`OTEL_METRIC_EXPORT_INTERVAL` (ms)", "`metric_export_interval`", "60 s"],
    }
    metric_export_timeout: Duration {
        env: [/// Longest time one OTLP metrics export may take, in milliseconds.
              OTEL_METRIC_EXPORT_TIMEOUT => parse::millis],
        file: ["metric_export_timeout" => file::duration],
        check: check::positive,
        default: DEFAULT_METRIC_EXPORT_TIMEOUT,
        row: ["`metric_export_timeout`", "`OTEL_METRIC_EXPORT_TIMEOUT` (ms; one request, not retried)", "`metric_export_timeout`", "30 s"],
    }
    /// The metrics endpoint; without it, the traces endpoint's.
    metrics_endpoint: EndpointSetting {
        env: [/// The OTLP metrics endpoint, used as is.
              OTEL_EXPORTER_OTLP_METRICS_ENDPOINT => parse::exact_endpoint],
        file: ["metrics_endpoint" => |v| file::with(v, parse::completed_endpoint)],
        check: check::any,
        row: ["`metrics_endpoint`", "`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (as is); else the traces endpoint (HTTP: `/v1/metrics` for `/v1/traces`; `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/metrics` when the traces endpoint is traces-specific)", "`metrics_endpoint`", "`http://localhost:4317` (gRPC), `http://localhost:4318/v1/metrics` (HTTP)"],
    }
    /// The metrics protocol; without it, the traces'.
    metrics_protocol: Protocol {
        env: [/// The OTLP metrics transport: `grpc`, `http/protobuf` or `http/json`.
              OTEL_EXPORTER_OTLP_METRICS_PROTOCOL => parse::protocol],
        file: ["metrics_protocol" => |v| file::with(v, parse::protocol)],
        check: check::any,
        row: ["`metrics_protocol`", "`OTEL_EXPORTER_OTLP_METRICS_PROTOCOL` (headers, compression, TLS: the traces')", "`metrics_protocol`", "the traces' `protocol`"],
    }
    /// Where log records go; without it, where the spans go (see `LogsExporter`).
    logs_exporter: LogsExporter {
        env: [/// Where log records go: `otlp`, `console` or `none`.
              OTEL_LOGS_EXPORTER => parse::logs_exporter],
        file: ["logs_exporter" => |v| file::with(v, parse::logs_exporter)],
        check: check::any,
        row: ["`logs_exporter`", "`OTEL_LOGS_EXPORTER=otlp\\|console\\|none`", "`logs_exporter`", "the traces' (`none` with a custom span exporter)"],
    }
    /// The logs endpoint; without it, the traces endpoint's.
    logs_endpoint: EndpointSetting {
        env: [/// The OTLP logs endpoint, used as is.
              OTEL_EXPORTER_OTLP_LOGS_ENDPOINT => parse::exact_endpoint],
        file: ["logs_endpoint" => |v| file::with(v, parse::completed_endpoint)],
        check: check::any,
        row: ["`logs_endpoint`", "`OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` (as is); else derived from the traces endpoint as `metrics_endpoint` is (`/v1/logs`; a traces URL with its own path: logs off unless `logs_exporter` is set)", "`logs_endpoint`", "`http://localhost:4317` (gRPC), `http://localhost:4318/v1/logs` (HTTP)"],
    }
    /// The logs protocol; without it, the traces'.
    logs_protocol: Protocol {
        env: [/// The OTLP logs transport: `grpc`, `http/protobuf` or `http/json`.
              OTEL_EXPORTER_OTLP_LOGS_PROTOCOL => parse::protocol],
        file: ["logs_protocol" => |v| file::with(v, parse::protocol)],
        check: check::any,
        row: ["`logs_protocol`", "`OTEL_EXPORTER_OTLP_LOGS_PROTOCOL` (TLS: the traces')", "`logs_protocol`", "the traces' `protocol`"],
    }
    /// The logs export's headers; without them, the traces'.
    logs_headers: Vec<(String, String)> {
        env: [/// Headers of every logs export request, `key=value,…`.
              OTEL_EXPORTER_OTLP_LOGS_HEADERS => parse::key_values],
        file: ["logs_headers" => file::table],
        check: check::any,
        row: ["`logs_header(k, v)`", "`OTEL_EXPORTER_OTLP_LOGS_HEADERS=k=v,…`", "`logs_headers` (table)", "the traces' headers"],
    }
    /// The logs export's compression; without it, the traces'.
    logs_compression: Compression {
        env: [/// Compression of logs export requests: `gzip` or `none`.
              OTEL_EXPORTER_OTLP_LOGS_COMPRESSION => parse::compression],
        file: ["logs_compression" => |v| file::with(v, parse::compression)],
        check: check::any,
        row: ["`logs_compression`", "`OTEL_EXPORTER_OTLP_LOGS_COMPRESSION=gzip\\|none`", "`logs_compression`", "the traces' `compression`"],
    }
    /// The timeout of one logs request; without it, the traces'.
    logs_request_timeout: Duration {
        env: [/// Timeout of one OTLP logs request, in milliseconds.
              OTEL_EXPORTER_OTLP_LOGS_TIMEOUT => parse::millis],
        file: ["logs_request_timeout" => file::duration],
        check: check::positive,
        row: ["`logs_request_timeout`", "`OTEL_EXPORTER_OTLP_LOGS_TIMEOUT` (ms)", "`logs_request_timeout`", "the traces' `request_timeout`"],
    }
    logs_scheduled_delay: Duration {
        env: [/// Longest wait before a partial log batch is exported, in milliseconds.
              OTEL_BLRP_SCHEDULE_DELAY => parse::millis],
        file: ["logs_scheduled_delay" => file::duration],
        check: check::positive,
        default: DEFAULT_LOGS_SCHEDULED_DELAY,
        row: ["`logs_scheduled_delay`", "`OTEL_BLRP_SCHEDULE_DELAY` (ms)", "`logs_scheduled_delay`", "1 s"],
    }
    logs_export_timeout: Duration {
        env: [/// Longest time one log batch export may take, in milliseconds.
              OTEL_BLRP_EXPORT_TIMEOUT => parse::millis],
        file: ["logs_export_timeout" => file::duration],
        check: check::positive,
        default: DEFAULT_EXPORT_TIMEOUT,
        row: ["`logs_export_timeout`", "`OTEL_BLRP_EXPORT_TIMEOUT` (ms)", "`logs_export_timeout`", "30 s"],
    }
    logs_max_queue_size: usize {
        env: [/// Log records held in the logs queue at most.
              OTEL_BLRP_MAX_QUEUE_SIZE => parse::integer],
        file: ["logs_max_queue_size" => file::integer],
        check: check::positive,
        default: DEFAULT_LOGS_MAX_QUEUE_SIZE,
        row: ["`logs_max_queue_size`", "`OTEL_BLRP_MAX_QUEUE_SIZE` (bytes: a quarter of `max_queue_bytes`)", "`logs_max_queue_size`", "2048 records"],
    }
    logs_max_export_batch_size: usize {
        env: [/// Log records per export request at most.
              OTEL_BLRP_MAX_EXPORT_BATCH_SIZE => parse::integer],
        file: ["logs_max_export_batch_size" => file::integer],
        check: check::positive,
        default: DEFAULT_MAX_EXPORT_BATCH_SIZE,
        row: ["`logs_max_export_batch_size`", "`OTEL_BLRP_MAX_EXPORT_BATCH_SIZE`", "`logs_max_export_batch_size`", "512"],
    }
    max_attributes_per_log: usize {
        env: [/// Attributes kept per log record.
              OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT => parse::integer],
        file: ["max_attributes_per_log" => file::integer],
        check: check::positive,
        default: DEFAULT_MAX_ATTRIBUTES_PER_EVENT,
        row: ["`max_attributes_per_log`", "`OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT`", "`max_attributes_per_log`", "128"],
    }
    /// Bytes kept of one log attribute value; without it, `max_attribute_value_bytes`.
    max_log_attribute_value_bytes: usize {
        env: [/// Bytes kept of one log record attribute value.
              OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT => parse::integer],
        file: ["max_log_attribute_value_bytes" => file::integer],
        check: check::positive,
        row: ["`max_log_attribute_value_bytes`", "`OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT` (an event that is also a span event keeps the span's limit)", "`max_log_attribute_value_bytes`", "`max_attribute_value_bytes`"],
    }
    logs_level: Level {
        env: [/// The least severe level exported as logs: `trace`, `debug`, `info`, `warn`, `error`.
              OBSERVER_LOGS_LEVEL => parse::level],
        file: ["logs_level" => |v| file::with(v, parse::level)],
        check: check::any,
        default: Level::INFO,
        row: ["`logs_level`", "`OBSERVER_LOGS_LEVEL=trace\\|debug\\|info\\|warn\\|error`", "`logs_level`", "`info`"],
    }
    logs_rate_limit: usize {
        env: [/// Log records per second one callsite may send (0: no limit).
              OBSERVER_LOGS_RATE_LIMIT => parse::integer],
        file: ["logs_rate_limit" => file::integer],
        check: check::any,
        default: DEFAULT_LOGS_RATE_LIMIT,
        row: ["`logs_rate_limit`", "`OBSERVER_LOGS_RATE_LIMIT` (records per second per callsite, burst of one second; 0: none)", "`logs_rate_limit`", "1000"],
    }
    span_events: bool {
        env: [/// Events inside recorded spans become span events: `true` or `false`.
              OBSERVER_SPAN_EVENTS => parse::boolean],
        file: ["span_events" => file::boolean],
        check: check::any,
        default: true,
        row: ["`span_events`", "`OBSERVER_SPAN_EVENTS=true\\|false` (events inside recorded spans as span events)", "`span_events`", "true"],
    }
    /// The endpoints' address (its origin names the setting in the bind error).
    http_addr: SocketAddr {
        env: [/// Address of the health and metrics endpoints (`127.0.0.1:9464`); unset = off.
              OBSERVER_HTTP_ADDR => parse::socket_addr],
        file: ["http_addr" => |v| file::with(v, parse::socket_addr)],
        check: check::any,
        row: ["`http_addr`", "`OBSERVER_HTTP_ADDR` (`127.0.0.1:9464`; a port in use is a `BuildError`)", "`http_addr`", "off"],
    }
    resource_interval: Duration {
        env: [/// How often process resources are sampled (`5s`).
              OBSERVER_RESOURCE_INTERVAL => parse::duration],
        file: ["resource_interval" => file::duration],
        check: check::positive,
        default: DEFAULT_RESOURCE_INTERVAL,
        row: ["`resource_interval`", "`OBSERVER_RESOURCE_INTERVAL` (`5s`)", "`resource_interval`", "5 s"],
    }
    panic_hook: bool {
        env: [/// Install the panic hook: `true` or `false`.
              OBSERVER_PANIC_HOOK => parse::boolean],
        file: ["panic_hook" => file::boolean],
        check: check::any,
        default: false,
        row: ["`panic_hook`", "`OBSERVER_PANIC_HOOK=true\\|false`", "`panic_hook`", "false"],
    }
    max_worker_restarts: usize {
        env: [/// Worker failures in a row before the observer disables itself.
              OBSERVER_MAX_WORKER_RESTARTS => parse::integer],
        file: ["max_worker_restarts" => file::integer],
        check: check::positive,
        default: DEFAULT_MAX_WORKER_RESTARTS,
        row: ["`max_worker_restarts`", "`OBSERVER_MAX_WORKER_RESTARTS`", "`max_worker_restarts`", "3"],
    }
}
