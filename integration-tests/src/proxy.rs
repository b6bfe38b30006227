//! A TCP proxy on `127.0.0.1` that forwards to a collector or refuses connections,
//! on a schedule: an outage as the exporter sees it, with the collector itself running.
//!
//! While down it listens on nothing (a connection is refused) and has cut every
//! connection it forwarded; while up it accepts and forwards both ways. It records,
//! for each time it comes up, how long until the first bytes from a client were
//! forwarded (the exporter's recovery: a bare connection check sends no bytes).
//!
//! ```no_run
//! use std::time::Duration;
//! use integration_tests::TcpProxy;
//! # let upstream: std::net::SocketAddr = "127.0.0.1:4317".parse().unwrap();
//! // Refuse for 4 s, then forward for good.
//! let proxy = TcpProxy::start(upstream, &[(false, Duration::from_secs(4))]);
//! let endpoint = format!("http://{}", proxy.addr());
//! ```

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the accept loop looks at the schedule.
const TICK: Duration = Duration::from_millis(2);

#[derive(Default)]
struct Shared {
    /// Both ends of every forwarded connection, to cut them when going down.
    streams: Mutex<Vec<TcpStream>>,
    /// When it last came up, until the first forwarded client bytes after that.
    up_since: Mutex<Option<Instant>>,
    recoveries: Mutex<Vec<Duration>>,
    /// Set by [`TcpProxy::come_up`]: up for good from then on.
    forced_up: AtomicBool,
    stop: AtomicBool,
}

/// A scheduled forwarding proxy; stops (and cuts its connections) on drop.
pub struct TcpProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl TcpProxy {
    /// Listens on a free `127.0.0.1` port and forwards to `upstream` following
    /// `schedule`: `(up, how long)` steps in order, up (forwarding) for good after the last.
    ///
    /// # Panics
    /// When no port can be bound.
    pub fn start(upstream: SocketAddr, schedule: &[(bool, Duration)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared::default());
        let steps = schedule.to_vec();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("tcp-proxy".into())
            .spawn(move || run(listener, addr, upstream, &steps, &thread_shared))
            .expect("spawn the proxy thread");
        Self {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Forwards from now on for good, whatever the schedule says; returns once it
    /// listens again.
    pub fn come_up(&self) {
        self.shared.forced_up.store(true, Ordering::Relaxed);
        while std::net::TcpStream::connect(self.addr).is_err() {
            std::thread::sleep(TICK);
        }
    }

    /// For each time the proxy came up after being down: how long until the first
    /// bytes from a client were forwarded.
    pub fn recoveries(&self) -> Vec<Duration> {
        self.shared.recoveries.lock().unwrap().clone()
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        cut_all(&self.shared);
    }
}

fn cut_all(shared: &Shared) {
    for stream in shared.streams.lock().unwrap().drain(..) {
        let _ = stream.shutdown(Shutdown::Both);
    }
}

fn run(
    first: TcpListener,
    addr: SocketAddr,
    upstream: SocketAddr,
    steps: &[(bool, Duration)],
    shared: &Arc<Shared>,
) {
    let started = Instant::now();
    let mut listener = Some(first);
    let mut was_up = true;
    while !shared.stop.load(Ordering::Relaxed) {
        let up = shared.forced_up.load(Ordering::Relaxed) || up_at(steps, started.elapsed());
        if up != was_up {
            was_up = up;
            if up {
                listener = rebind(addr);
                *shared.up_since.lock().unwrap() = Some(Instant::now());
            } else {
                listener = None;
                cut_all(shared);
            }
        }
        if let Some(l) = &listener {
            let _ = l.set_nonblocking(true);
            match l.accept() {
                Ok((client, _)) => forward(client, upstream, shared),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(TICK),
                Err(_) => std::thread::sleep(TICK),
            }
        } else {
            std::thread::sleep(TICK);
        }
    }
}

/// Whether the schedule says up at `elapsed`.
fn up_at(steps: &[(bool, Duration)], elapsed: Duration) -> bool {
    let mut end = Duration::ZERO;
    for &(up, length) in steps {
        end += length;
        if elapsed < end {
            return up;
        }
    }
    true
}

fn rebind(addr: SocketAddr) -> Option<TcpListener> {
    for _ in 0..500 {
        if let Ok(listener) = TcpListener::bind(addr) {
            return Some(listener);
        }
        std::thread::sleep(TICK);
    }
    panic!("cannot listen on {addr} again");
}

fn forward(client: TcpStream, upstream: SocketAddr, shared: &Arc<Shared>) {
    let _ = client.set_nonblocking(false);
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    {
        let mut streams = shared.streams.lock().unwrap();
        for stream in [&client, &server] {
            if let Ok(clone) = stream.try_clone() {
                streams.push(clone);
            }
        }
    }
    let (Ok(client_read), Ok(server_read)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let to_server = Arc::clone(shared);
    std::thread::spawn(move || pipe(client_read, server, Some(&to_server)));
    std::thread::spawn(move || pipe(server_read, client, None));
}

/// Copies `from` to `to` until either end closes; notes the first client bytes after
/// coming up (when `shared` is given).
fn pipe(mut from: TcpStream, mut to: TcpStream, shared: Option<&Shared>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(shared) = shared {
            if let Some(since) = shared.up_since.lock().unwrap().take() {
                shared.recoveries.lock().unwrap().push(since.elapsed());
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
