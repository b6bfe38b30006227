//! Whether a TLS server refuses clients without a certificate (mTLS).
//!
//! Under TLS 1.3 a server that wants a client certificate says so only after the
//! client finished its handshake, with a `certificate_required` alert, which an HTTP/2
//! client writing its first request sees as a broken pipe. So when a gRPC export over
//! TLS fails in transport and no client certificate is configured, one handshake of
//! our own, reading the server's first answer, tells the cases apart. It sends no data
//! and trusts any server certificate: it only looks at how the handshake ends.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{AlertDescription, DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Longest the whole check may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether the TLS server at `host:port` ends a handshake without a client certificate
/// with `certificate_required` (or, under TLS 1.2, `handshake_failure` after asking for
/// one). `false` when it cannot tell.
pub(crate) async fn requires_client_certificate(host: String, port: u16) -> bool {
    tokio::time::timeout(PROBE_TIMEOUT, probe(host, port))
        .await
        .unwrap_or(false)
}

async fn probe(host: String, port: u16) -> bool {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyServer(Arc::clone(&provider)));
    let Ok(config) = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|c| {
            c.dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth()
        })
    else {
        return false;
    };
    let Ok(name) = ServerName::try_from(host.trim_matches(['[', ']']).to_owned()) else {
        return false;
    };
    let Ok(tcp) = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port)).await
    else {
        return false;
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut byte = [0u8; 1];
    let error = match connector.connect(name, tcp).await {
        Ok(mut tls) => match tls.read(&mut byte).await {
            Ok(_) => return false,
            Err(e) => e,
        },
        Err(e) => e,
    };
    matches!(
        error
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::AlertReceived(
            AlertDescription::CertificateRequired | AlertDescription::HandshakeFailure
        ))
    )
}

/// Accepts any server certificate (signatures still checked): the probe sends nothing.
#[derive(Debug)]
struct AnyServer(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
