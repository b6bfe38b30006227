//! mTLS: certificates made here (a CA, a server and a client certificate), TLS servers
//! that require a client certificate signed by the CA — a tonic gRPC server
//! (`ServerTlsConfig::client_ca_root`) and an HTTP/1.1 one (rustls
//! `WebPkiClientVerifier`). With `client_certificate` and `client_key` every span is
//! delivered; without them nothing is, and the export error says a client certificate
//! is required.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{builder, observe};
use http_body_util::BodyExt;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio_rustls::rustls;
use tracing_observer::{config::Protocol, ObserverBuilder, ShutdownReport};

const SPANS: usize = 20;

/// PEM files of a CA, a server certificate for 127.0.0.1 and a client certificate,
/// both signed by the CA, in a directory of their own.
struct Pki {
    dir: PathBuf,
    ca: rcgen::Certificate,
    server: rcgen::Certificate,
    server_key: KeyPair,
}

impl Pki {
    fn new(name: &str) -> Self {
        let dir = common::spool_dir(&format!("mtls-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let leaf = |san: &str, usage: ExtendedKeyUsagePurpose| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(vec![san.to_owned()]).unwrap();
            params.extended_key_usages = vec![usage];
            (params.signed_by(&key, &ca).unwrap(), key)
        };
        let (server, server_key) = leaf("127.0.0.1", ExtendedKeyUsagePurpose::ServerAuth);
        let (client, client_key) = leaf("client.test", ExtendedKeyUsagePurpose::ClientAuth);
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.join("client.pem"), client.pem()).unwrap();
        std::fs::write(dir.join("client.key"), client_key.serialize_pem()).unwrap();
        let ca = rcgen::Certificate::clone(ca.as_ref());
        Self {
            dir,
            ca,
            server,
            server_key,
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Counts the spans of the export requests a server accepted.
#[derive(Clone, Default)]
struct Received(Arc<AtomicUsize>);

impl Received {
    fn add(&self, request: &ExportTraceServiceRequest) {
        let spans: usize = request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        self.0.fetch_add(spans, Ordering::SeqCst);
    }

    fn spans(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

#[tonic::async_trait]
impl TraceService for Received {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.add(request.get_ref());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// A server on its own runtime thread; stops with the test process.
fn serve(pki: &Pki, protocol: Protocol, received: &Received) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let (ca, cert, key) = (
        pki.ca.clone(),
        pki.server.clone(),
        pki.server_key.serialize_der(),
    );
    let key_pem = pki.server_key.serialize_pem();
    let received = received.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            match protocol {
                Protocol::Grpc => {
                    use tonic::transport::{Certificate, Identity, ServerTlsConfig};
                    let tls = ServerTlsConfig::new()
                        .identity(Identity::from_pem(cert.pem(), key_pem))
                        .client_ca_root(Certificate::from_pem(ca.pem()));
                    tonic::transport::Server::builder()
                        .tls_config(tls)
                        .unwrap()
                        .add_service(TraceServiceServer::new(received))
                        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(
                            listener,
                        ))
                        .await
                        .unwrap();
                }
                _ => serve_https(listener, &ca, &cert, key, received).await,
            }
        });
    });
    addr
}

/// OTLP/HTTP over TLS that requires a client certificate signed by `ca`.
async fn serve_https(
    listener: tokio::net::TcpListener,
    ca: &rcgen::Certificate,
    cert: &rcgen::Certificate,
    key: Vec<u8>,
    received: Received,
) {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        )
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (acceptor, received) = (acceptor.clone(), received.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let service =
                hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let received = received.clone();
                    async move {
                        let body = request.into_body().collect().await?.to_bytes();
                        if let Ok(decoded) = ExportTraceServiceRequest::decode(body) {
                            received.add(&decoded);
                        }
                        let response = ExportTraceServiceResponse::default().encode_to_vec();
                        Ok::<_, hyper::Error>(http::Response::new(http_body_util::Full::new(
                            bytes::Bytes::from(response),
                        )))
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
        });
    }
}

fn observer_to(addr: SocketAddr, pki: &Pki, protocol: Protocol) -> ObserverBuilder {
    builder()
        .endpoint(format!("https://{addr}"))
        .protocol(protocol)
        .certificate(pki.file("ca.pem"))
        .scheduled_delay(Duration::from_millis(50))
}

fn run(observer: ObserverBuilder) -> ShutdownReport {
    let observer = observer.build().unwrap();
    observe(&observer, || {
        for i in 0..SPANS {
            tracing::info_span!("work", i).in_scope(|| {});
        }
    });
    observer.shutdown(Duration::from_secs(3))
}

fn with_a_client_certificate_every_span_is_delivered(protocol: Protocol, name: &str) {
    let pki = Pki::new(name);
    let received = Received::default();
    let addr = serve(&pki, protocol, &received);
    let report = run(observer_to(addr, &pki, protocol)
        .client_certificate(pki.file("client.pem"))
        .client_key(pki.file("client.key")));
    assert_eq!(report.stats.exported, SPANS as u64, "{report}");
    assert_eq!(received.spans(), SPANS, "{report}");
}

fn without_a_client_certificate_nothing_is_delivered(protocol: Protocol, name: &str) {
    let pki = Pki::new(name);
    let received = Received::default();
    let addr = serve(&pki, protocol, &received);
    let report = run(observer_to(addr, &pki, protocol));
    assert_eq!(report.stats.exported, 0, "{report}");
    assert_eq!(received.spans(), 0, "{report}");
    let error = report.stats.last_export_error.clone().unwrap_or_default();
    assert!(
        error.contains("requires a client certificate")
            && error.contains("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"),
        "a clear error: {error}\n{report}"
    );
}

#[test]
fn with_a_client_certificate_every_span_is_delivered_grpc() {
    with_a_client_certificate_every_span_is_delivered(Protocol::Grpc, "with-grpc");
}

#[test]
fn with_a_client_certificate_every_span_is_delivered_http() {
    with_a_client_certificate_every_span_is_delivered(Protocol::HttpProtobuf, "with-http");
}

#[test]
fn without_a_client_certificate_nothing_is_delivered_grpc() {
    without_a_client_certificate_nothing_is_delivered(Protocol::Grpc, "without-grpc");
}

#[test]
fn without_a_client_certificate_nothing_is_delivered_http() {
    without_a_client_certificate_nothing_is_delivered(Protocol::HttpProtobuf, "without-http");
}

/// Only one of the two files is a build error naming the other.
#[test]
fn a_client_certificate_without_its_key_is_a_build_error() {
    let dir = Path::new("/nonexistent");
    let err = builder()
        .client_certificate(dir.join("client.pem"))
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("client_certificate") && err.contains("needs client_key"),
        "{err}"
    );
    let err = builder()
        .environment([("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/nonexistent/client.key")])
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("OTEL_EXPORTER_OTLP_CLIENT_KEY") && err.contains("needs client_certificate"),
        "{err}"
    );
}

/// The client certificate and key named by `OTEL_EXPORTER_OTLP_CLIENT_{CERTIFICATE,KEY}`
/// and by the config file's `client_certificate` / `client_key`, over both transports.
#[test]
fn the_client_certificate_comes_from_the_environment_or_the_config_file() {
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let name = format!("sources-{protocol:?}");
        let pki = Pki::new(&name);
        let received = Received::default();
        let addr = serve(&pki, protocol, &received);
        let path = |name: &str| pki.file(name).display().to_string();
        let report = run(observer_to(addr, &pki, protocol).environment([
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", path("client.pem")),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", path("client.key")),
        ]));
        assert_eq!(
            report.stats.exported, SPANS as u64,
            "environment, {protocol:?}: {report}"
        );

        let file = pki.file("observer.toml");
        std::fs::write(
            &file,
            format!(
                "client_certificate = {:?}\nclient_key = {:?}\n",
                path("client.pem"),
                path("client.key")
            ),
        )
        .unwrap();
        let report = run(observer_to(addr, &pki, protocol).config_file(&file));
        assert_eq!(
            report.stats.exported, SPANS as u64,
            "config file, {protocol:?}: {report}"
        );
        assert_eq!(received.spans(), 2 * SPANS, "{protocol:?}");
    }
}
