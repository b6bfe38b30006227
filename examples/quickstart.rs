//! The first program to run: `cargo run --example quickstart`.
//!
//! A tiny instrumented shop: sync and async functions with `#[instrument]`, nested
//! spans, events with fields, a failure recorded by `#[instrument(err)]`, and a
//! background job linked to the checkout that caused it (`follows_from`).
//!
//! Spans are exported over OTLP as the `OTEL_*` variables say (by default gRPC to
//! `http://localhost:4317`) and logged as text on stderr. At the end the shutdown
//! report, on stdout, says what was exported and why anything was not. Without a
//! collector the program runs all the same: the report shows the failed exports.
//! `OTEL_TRACES_EXPORTER=console` prints the spans as OTLP/JSON instead.

use std::error::Error;
use std::time::Duration;
use std::{fmt, io};

use tracing::{debug, info, instrument, warn, Instrument, Span};
use tracing_observer::Observer;
use tracing_subscriber::prelude::*;

fn main() -> Result<(), Box<dyn Error>> {
    // Settings come from the OTEL_* / OBSERVER_* environment; builder methods win.
    let observer = Observer::builder().service_name("quickstart").build()?;
    tracing_subscriber::registry()
        .with(observer.layer())
        .with(tracing_subscriber::fmt::layer().with_writer(io::stderr))
        .init();

    checkout(42, &["apple", "pear", "plum"]);

    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(restock(vec!["apple", "pear", "plum"]));

    // Export what is still queued (waiting at most 5 s) and report what happened.
    let report = observer.shutdown(Duration::from_secs(5));
    println!("{report}");
    if report.stats.export_failures > 0 {
        eprintln!(
            "hint: no collector at {}? set OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER=console",
            otlp_endpoint()
        );
    }
    Ok(())
}

/// The root span of a trace; `price`, `charge_card` and their events nest inside it.
#[instrument(skip(items), fields(items = items.len()))]
fn checkout(order_id: u64, items: &[&str]) {
    let total: f64 = items.iter().map(|item| price(item)).sum();
    info!(total, currency = "EUR", "order priced");
    if let Err(e) = charge_card(order_id, total) {
        // Handled here, so checkout itself succeeds. (A field named `error` would
        // mark this span failed too.)
        warn!(cause = %e, "payment failed, will retry later");
    }
    send_receipt(order_id, &Span::current());
}

#[instrument]
fn price(item: &str) -> f64 {
    let price = item.len() as f64 * 0.5;
    debug!(price, "looked up");
    price
}

/// `err` records a returned error: status ERROR and an `exception` event.
#[instrument(err)]
fn charge_card(order_id: u64, amount: f64) -> Result<(), PaymentError> {
    let cause = io::Error::new(io::ErrorKind::TimedOut, "card network did not answer");
    Err(PaymentError(cause))
}

/// A job in a trace of its own (`parent = None`), linked to the checkout that caused it.
#[instrument(parent = None, skip(cause))]
fn send_receipt(order_id: u64, cause: &Span) {
    Span::current().follows_from(cause);
    info!(to = "customer@example.com", "receipt sent");
}

/// Async functions are instrumented the same way; spans follow them across
/// `.await`s and threads. An async fn's span starts at its first poll, so a
/// spawned one joins the current trace only with `.in_current_span()`.
#[instrument]
async fn restock(items: Vec<&'static str>) {
    let tasks: Vec<_> = items
        .into_iter()
        .map(|item| tokio::spawn(check_stock(item).in_current_span()))
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap_or_default();
    }
    info!(total, "stock checked");
}

#[instrument]
async fn check_stock(item: &'static str) -> u32 {
    tokio::time::sleep(Duration::from_millis(20)).await;
    let count = item.len() as u32 * 10;
    info!(count, "in stock");
    count
}

/// An error with a cause, as real errors have.
#[derive(Debug)]
struct PaymentError(io::Error);

impl fmt::Display for PaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("payment declined")
    }
}

impl Error for PaymentError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.0)
    }
}

/// Where OTLP export goes, by the same rules as the builder (for the hint).
fn otlp_endpoint() -> String {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let http = var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .is_some_and(|p| p.starts_with("http"));
    let default = if http {
        tracing_observer::config::DEFAULT_HTTP_ENDPOINT
    } else {
        tracing_observer::config::DEFAULT_GRPC_ENDPOINT
    };
    var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .or_else(|| var("OTEL_EXPORTER_OTLP_ENDPOINT"))
        .unwrap_or_else(|| default.to_owned())
}
