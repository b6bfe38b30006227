//! `tracing-observer`: look into, replay and export a disk spool.
//!
//! ```text
//! tracing-observer spool stats DIR [--json]
//! tracing-observer spool show DIR [--errors] [--trace ID] [--service S] [--limit N]
//! tracing-observer spool replay DIR [--endpoint URL] [--protocol grpc|http/protobuf]
//! tracing-observer spool export DIR --format otlp-json > spans.jsonl
//! ```
//!
//! Only the segments in `DIR` are read: archived segments (in the archive directory,
//! gzipped or not) are not. To look into one, copy it back into a spool directory
//! (`gunzip` it first).

mod show;
mod target;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tracing_observer::{config::Protocol, spool};

#[derive(Parser)]
#[command(
    name = "tracing-observer",
    version,
    about = "Inspect, replay and export a tracing-observer disk spool"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with a spool directory.
    ///
    /// Only the segments in the directory are read: archived segments (in the archive
    /// directory, gzipped or not) are not. To look into one, copy it back into a spool
    /// directory (`gunzip` it first).
    #[command(subcommand)]
    Spool(SpoolCommand),
}

#[derive(Subcommand)]
enum SpoolCommand {
    /// Segments, bytes, spans, oldest/newest batch, damaged records.
    Stats {
        /// The spool directory.
        dir: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Trace trees: name, duration, status and key attributes of each span.
    Show {
        /// The spool directory.
        dir: PathBuf,
        /// Only traces with a failed span.
        #[arg(long)]
        errors: bool,
        /// Only this trace (hex id).
        #[arg(long)]
        trace: Option<String>,
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        /// At most this many traces.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Sends the spooled batches to a collector, deleting each once acknowledged.
    Replay {
        /// The spool directory.
        dir: PathBuf,
        /// The collector's OTLP endpoint (`http://host:4317`); default:
        /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`.
        #[arg(long)]
        endpoint: Option<String>,
        /// The transport; default: `OTEL_EXPORTER_OTLP_{TRACES_,}PROTOCOL`, else grpc.
        #[arg(long, value_enum)]
        protocol: Option<Transport>,
        /// Timeout of each request, in seconds.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
    /// Writes every batch as OTLP JSON, one request per line (the Collector's `otlpjsonfile` format).
    Export {
        /// The spool directory.
        dir: PathBuf,
        /// The output format.
        #[arg(long, value_enum, default_value_t = Format::OtlpJson)]
        format: Format,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Transport {
    Grpc,
    #[value(name = "http/protobuf")]
    HttpProtobuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    OtlpJson,
}

fn main() -> ExitCode {
    let Command::Spool(command) = Cli::parse().command;
    match run(command) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("tracing-observer: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: SpoolCommand) -> Result<ExitCode, String> {
    match command {
        SpoolCommand::Stats { dir, json } => {
            let summary = spool::summary(&dir).map_err(|e| e.to_string())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&summary).unwrap_or_default()
                );
            } else {
                print_stats(&dir, &summary);
            }
            warn_unreadable(&summary);
            Ok(ExitCode::SUCCESS)
        }
        SpoolCommand::Show {
            dir,
            errors,
            trace,
            service,
            limit,
        } => {
            let filter = show::Filter {
                errors,
                trace,
                service,
                limit,
            };
            let mut batches = Vec::new();
            let summary = spool::read(&dir, |b| batches.push(b)).map_err(|e| e.to_string())?;
            warn_unreadable(&summary);
            warn_damage(summary.corrupt_records, summary.lost_bytes);
            show::print(&batches, &filter);
            Ok(ExitCode::SUCCESS)
        }
        SpoolCommand::Replay {
            dir,
            endpoint,
            protocol,
            timeout,
        } => {
            let protocol = protocol.map(|p| match p {
                Transport::Grpc => Protocol::Grpc,
                Transport::HttpProtobuf => Protocol::HttpProtobuf,
            });
            let target = target::resolve(endpoint, protocol, |name| std::env::var(name).ok())?;
            if target.source != "--endpoint" {
                eprintln!(
                    "tracing-observer: replaying to {} (from {})",
                    target.endpoint, target.source
                );
            }
            let timeout = Duration::from_secs(timeout);
            let done = spool::replay(&dir, &target.endpoint, target.protocol, timeout)
                .map_err(|e| e.to_string())?;
            println!(
                "replayed {} batches ({} spans); {} left",
                done.batches, done.spans, done.remaining_batches
            );
            if done.rejected_spans > 0 {
                eprintln!(
                    "tracing-observer: the collector rejected {} of the replayed spans (partial success)",
                    done.rejected_spans
                );
            }
            warn_damage(done.corrupt_records, done.lost_bytes);
            if done.set_aside_segments > 0 {
                eprintln!(
                    "tracing-observer: set aside {} unreadable segments as *.seg.bad (not replayed)",
                    done.set_aside_segments
                );
            }
            match done.error {
                Some(error) => {
                    eprintln!("tracing-observer: replay stopped: {error}");
                    Ok(ExitCode::FAILURE)
                }
                None => Ok(ExitCode::SUCCESS),
            }
        }
        SpoolCommand::Export {
            dir,
            format: Format::OtlpJson,
        } => {
            use std::io::Write;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let mut failed = None;
            let summary = spool::read(&dir, |batch| {
                if failed.is_some() {
                    return;
                }
                let line = serde_json::to_string(&batch.request).map_err(|e| e.to_string());
                if let Err(e) = line.and_then(|l| writeln!(out, "{l}").map_err(|e| e.to_string())) {
                    failed = Some(e);
                }
            })
            .map_err(|e| e.to_string())?;
            out.flush().map_err(|e| e.to_string())?;
            if let Some(e) = failed {
                return Err(format!("writing the export failed: {e}"));
            }
            warn_unreadable(&summary);
            warn_damage(summary.corrupt_records, summary.lost_bytes);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_stats(dir: &std::path::Path, s: &spool::SpoolSummary) {
    let time = |ms: Option<u64>| {
        ms.map_or_else(|| "-".to_owned(), tracing_observer::spool::format_unix_ms)
    };
    println!("spool {}", dir.display());
    println!("  segments        {}", s.segments);
    println!("  bytes           {}", s.bytes);
    println!(
        "  batches         {} ({} with errors, {} rejected)",
        s.batches, s.error_batches, s.rejected_batches
    );
    println!("  spans           {}", s.spans);
    println!("  oldest          {}", time(s.oldest_ms));
    println!("  newest          {}", time(s.newest_ms));
    println!("  corrupt records {}", s.corrupt_records);
    println!("  lost bytes      {}", s.lost_bytes);
    println!("  unreadable      {} segments", s.unreadable_segments.len());
}

/// Names each segment that could not be read at all, and why.
fn warn_unreadable(s: &spool::SpoolSummary) {
    for segment in &s.unreadable_segments {
        eprintln!("tracing-observer: skipped unreadable segment {segment}");
    }
}

/// Tells what could not be read, and so was lost (nothing when nothing was).
fn warn_damage(corrupt_records: u64, lost_bytes: u64) {
    if corrupt_records > 0 || lost_bytes > 0 {
        eprintln!(
            "tracing-observer: skipped {corrupt_records} corrupt records and {lost_bytes} unreadable bytes"
        );
    }
}
