//! An HTTP service (axum) observed by `tracing-observer`, end to end: traces that
//! continue across processes, RED metrics, health probes.
//!
//! ```sh
//! # a backend, and a frontend whose /checkout calls the backend's /checkout
//! OTEL_SERVICE_NAME=backend OBSERVER_HTTP_ADDR=127.0.0.1:9465 \
//!   cargo run --features tower --example axum_service -- --addr 127.0.0.1:8081
//! OTEL_SERVICE_NAME=frontend OBSERVER_HTTP_ADDR=127.0.0.1:9464 \
//!   cargo run --features tower --example axum_service -- --addr 127.0.0.1:8080 \
//!   --downstream http://127.0.0.1:8081
//! curl localhost:8080/checkout; curl localhost:8080/fail; curl localhost:9464/metrics
//! ```
//!
//! Routes: `/` answers `ok`; `/checkout` runs nested `#[instrument]`ed work (cart,
//! prices, stock) and, with `--downstream URL`, calls `URL/checkout`, so one trace
//! spans both processes (a 5xx or an unreachable downstream answers 502); `/fail`
//! answers 500 after a failed payment (`#[instrument(err)]`).
//!
//! - [`TraceServerLayer`] gives each request a SERVER span named `{method} {route}`
//!   (the route template from axum's `MatchedPath`) with `http.request.method`,
//!   `http.route`, `url.path`, `http.response.status_code`; it continues the
//!   caller's W3C trace context, and a 5xx answer marks the span ERROR.
//! - The downstream call goes through reqwest wrapped in [`TraceClientLayer`]: a
//!   CLIENT span whose context is injected as `traceparent`.
//! - The observer is configured by the usual `OTEL_*` / `OBSERVER_*` variables
//!   (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_EXPORTER`, …); the service name is
//!   `axum-service` unless they name one. Spans and events below INFO are left out
//!   (`RUST_LOG` changes that, e.g. `RUST_LOG=debug`). With `OBSERVER_HTTP_ADDR` the observer serves
//!   `/metrics`, `/health/live`, `/health/ready`, `/health/startup` and `/health` on
//!   that address (its own server, not the application's port).
//! - Health: the application registers a `database` check, an async ping of a
//!   simulated database, **critical**: without its database the service cannot take
//!   orders, so `/health/ready` answers 503 and a load balancer stops sending traffic.
//!   The observer's own components are never critical.
//!
//! On start, stderr gets one line `axum_service: listening on http://ADDR` (plus
//! `, observer on http://ADDR` with `OBSERVER_HTTP_ADDR`; port 0 picks free ports and
//! the line tells which). On SIGTERM or Ctrl-C the server stops accepting, finishes
//! the requests in flight, then shuts the observer down (5 s at most) and prints its
//! report on stdout. Exit status: 0 after a clean shutdown, 1 when the observer or the
//! server cannot start, 2 for bad arguments.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use clap::Parser;
use http_body_util::BodyExt;
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceExt};
use tracing::instrument;
use tracing_observer::health::HealthCheck;
use tracing_observer::tower::{TraceClient, TraceClientLayer, TraceServerLayer};
use tracing_observer::Observer;
use tracing_subscriber::prelude::*;

/// An HTTP service with tracing-observer: /, /checkout, /fail.
#[derive(Debug, Parser)]
#[command(
    name = "axum_service",
    after_help = "The observer is configured by the OTEL_* / OBSERVER_* environment variables \
                  (e.g. OTEL_EXPORTER_OTLP_ENDPOINT, OBSERVER_HTTP_ADDR=127.0.0.1:9464 for \
                  /metrics and the health probes)."
)]
struct Args {
    /// Address to listen on (port 0: any free port)
    #[arg(long, value_name = "HOST:PORT")]
    addr: SocketAddr,

    /// Base URL of another instance: /checkout then calls URL/checkout
    #[arg(long, value_name = "URL", value_parser = base_url)]
    downstream: Option<String>,
}

/// The service name when the configuration names none.
const DEFAULT_SERVICE_NAME: &str = "axum-service";
/// How long the observer may take to export what is left at exit.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a call to the downstream service may take.
const DOWNSTREAM_TIMEOUT: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    let args = Args::parse(); // exits with status 2 (and a message) on bad arguments

    let observer = match Observer::builder()
        .default_service_name(DEFAULT_SERVICE_NAME)
        .build()
    {
        Ok(observer) => observer,
        Err(e) => {
            eprintln!("axum_service: cannot start the observer: {e}");
            return ExitCode::from(1);
        }
    };
    // INFO and above unless RUST_LOG says otherwise: the HTTP client libraries' debug
    // events would otherwise become events of every CLIENT span.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if let Err(e) = tracing_subscriber::registry()
        .with(observer.layer().with_filter(filter))
        .try_init()
    {
        eprintln!("axum_service: cannot install the subscriber: {e}");
        return ExitCode::from(1);
    }

    let database = Database::connect();
    let db = database.clone();
    observer.health().register(
        HealthCheck::new_async("database", move || {
            let db = db.clone();
            async move { db.ping().await }
        })
        .critical(true)
        .timeout(Duration::from_millis(500)),
    );

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("axum_service: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let app = AppState {
        database,
        downstream: args.downstream.map(Downstream::new),
        orders: Arc::new(AtomicU64::new(0)),
    };
    let served = runtime.block_on(serve(args.addr, observer.http_addr(), app));
    drop(runtime);

    let report = observer.shutdown(SHUTDOWN_TIMEOUT);
    println!("{report}");
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("axum_service: {e}");
            ExitCode::from(1)
        }
    }
}

/// Serves the application on `addr` until SIGTERM or Ctrl-C.
async fn serve(
    addr: SocketAddr,
    observer_addr: Option<SocketAddr>,
    app: AppState,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let observer_line = observer_addr
        .map(|a| format!(", observer on http://{a}"))
        .unwrap_or_default();
    eprintln!(
        "axum_service: listening on http://{}{observer_line}",
        listener.local_addr()?
    );
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// The routes, each request in a SERVER span named after its route template.
fn router(app: AppState) -> Router {
    let trace = TraceServerLayer::new().with_route(|parts| {
        parts
            .extensions
            .get::<MatchedPath>()
            .map(|path| path.as_str().to_owned())
    });
    Router::new()
        .route("/", get(|| async { "ok" }))
        .route("/checkout", get(checkout).post(checkout))
        .route("/fail", get(fail))
        .with_state(app)
        .layer(trace)
}

/// SIGTERM (as sent by `kill`, Kubernetes, systemd) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    eprintln!("axum_service: shutting down");
}

// === the application ===

/// What every handler shares.
#[derive(Clone)]
struct AppState {
    database: Database,
    downstream: Option<Downstream>,
    orders: Arc<AtomicU64>,
}

/// `/checkout`: load the cart, price it, reserve stock, and ask the downstream
/// service to do its part.
async fn checkout(State(app): State<AppState>) -> Result<String, (StatusCode, String)> {
    let order = app.orders.fetch_add(1, Ordering::Relaxed) + 1;
    let items = load_cart(&app.database, order).await;
    let total = price_cart(&items);
    reserve_stock(&app.database, order, items.len()).await;
    let mut answer = format!("order {order}: {} items, {total} cents", items.len());
    if let Some(downstream) = &app.downstream {
        let theirs = downstream
            .checkout()
            .await
            .map_err(|e| (StatusCode::BAD_GATEWAY, e))?;
        answer = format!("{answer}; downstream: {theirs}");
    }
    Ok(answer)
}

/// `/fail`: a payment that fails, answered with a 500.
async fn fail() -> (StatusCode, String) {
    match charge_card(4200).await {
        Ok(()) => (StatusCode::OK, "charged".to_owned()),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("payment failed: {e}"),
        ),
    }
}

/// An item of a cart, with its price in cents.
struct Item {
    price: u64,
}

#[instrument(skip(db))]
async fn load_cart(db: &Database, order: u64) -> Vec<Item> {
    db.query("SELECT sku, price FROM cart_items WHERE order_id = $1")
        .await;
    (0..1 + order % 3)
        .map(|i| Item {
            price: 199 + 100 * i,
        })
        .collect()
}

#[instrument(skip_all, fields(items = items.len()))]
fn price_cart(items: &[Item]) -> u64 {
    items.iter().map(|item| item.price).sum()
}

#[instrument(skip(db))]
async fn reserve_stock(db: &Database, order: u64, items: usize) {
    db.query("UPDATE stock SET reserved = reserved + 1 WHERE sku = $1")
        .await;
}

/// A declined payment.
#[derive(Debug)]
struct PaymentDeclined;

impl std::fmt::Display for PaymentDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined")
    }
}

impl std::error::Error for PaymentDeclined {}

/// Always declined: the ERROR span (and its `exception` event) behind `/fail`.
#[instrument(err)]
async fn charge_card(cents: u64) -> Result<(), PaymentDeclined> {
    tokio::time::sleep(Duration::from_millis(2)).await;
    Err(PaymentDeclined)
}

/// A simulated database: queries take a few milliseconds.
#[derive(Clone)]
struct Database {
    latency: Duration,
}

impl Database {
    fn connect() -> Self {
        Self {
            latency: Duration::from_millis(3),
        }
    }

    /// A query: a `db.query` span of its own.
    #[instrument(name = "db.query", skip_all, fields(db.system.name = "other_sql", db.query.text = text))]
    async fn query(&self, text: &'static str) {
        tokio::time::sleep(self.latency).await;
    }

    /// The health check's round trip (`SELECT 1`).
    async fn ping(&self) -> Result<(), String> {
        tokio::time::sleep(self.latency).await;
        Ok(())
    }
}

// === the downstream call ===

/// An HTTP client: reqwest under [`TraceClientLayer`].
type HttpClient = TraceClient<
    BoxCloneSyncService<
        http::Request<reqwest::Body>,
        http::Response<reqwest::Body>,
        reqwest::Error,
    >,
>;

/// Another instance of this service, called by `/checkout`.
#[derive(Clone)]
struct Downstream {
    checkout_url: String,
    client: HttpClient,
}

impl Downstream {
    fn new(base: String) -> Self {
        let reqwest = reqwest::Client::builder()
            .timeout(DOWNSTREAM_TIMEOUT)
            .build()
            .expect("a reqwest client with no TLS settings to fail on");
        let send = tower::service_fn(move |request: http::Request<reqwest::Body>| {
            let reqwest = reqwest.clone();
            async move {
                let request = reqwest::Request::try_from(request)?;
                Ok(http::Response::from(reqwest.execute(request).await?))
            }
        });
        Self {
            checkout_url: format!("{base}/checkout"),
            client: TraceClientLayer::new().layer(BoxCloneSyncService::new(send)),
        }
    }

    /// `GET {base}/checkout`, in a CLIENT span whose context travels as `traceparent`.
    async fn checkout(&self) -> Result<String, String> {
        let request = http::Request::get(&self.checkout_url)
            .body(reqwest::Body::from(""))
            .map_err(|e| e.to_string())?;
        let response = self
            .client
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| format!("{}: {e}", self.checkout_url))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let body = String::from_utf8_lossy(&body).into_owned();
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("{}: {status}: {body}", self.checkout_url))
        }
    }
}

// === arguments and configuration ===

/// A base URL for `--downstream`: `http(s)://host[:port]`, no trailing slash.
fn base_url(value: &str) -> Result<String, String> {
    let uri = value.parse::<http::Uri>().map_err(|e| e.to_string())?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(_)) => Ok(value.trim_end_matches('/').to_owned()),
        _ => Err("expected http://HOST:PORT or https://HOST:PORT".to_owned()),
    }
}
