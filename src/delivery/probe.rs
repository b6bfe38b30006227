//! The connection check: whether the collector accepts TCP connections, a cheap look
//! made while the breaker is open after refused connections.

use std::time::Duration;

/// How often an open breaker checks the connection while connections are refused.
pub(crate) const CONNECT_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// Longest a connection check waits.
const CONNECT_CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a replay waits while a live batch holds the half-open breaker's probe.
pub(crate) const PROBE_BUSY_PAUSE: Duration = Duration::from_millis(50);

/// Whether `addr` (`host:port`) accepts a TCP connection now (closed at once).
pub(crate) async fn accepts(addr: &str) -> bool {
    matches!(
        tokio::time::timeout(CONNECT_CHECK_TIMEOUT, tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}
