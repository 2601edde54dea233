//! Accepting connections and serving HTTP/1.1 on them, with the limits that
//! keep slow or idle clients from holding the server's sockets and memory:
//!
//! - at most `max_connections` at once: past that, new connections wait in
//!   the listen backlog until one closes;
//! - a connection's request head (line and headers) must arrive within the
//!   header timeout, counted from its first byte (or from the accept, for
//!   the first request); otherwise the connection is answered 408 and
//!   closed;
//! - a connection idle between requests is closed after the keep-alive
//!   timeout;
//! - the body timeout is applied where bodies are read (`extract`), so that
//!   the answer is the protocol's JSON 408;
//! - an answer the client stops reading (a write that cannot proceed for
//!   the write timeout) closes the connection, which drops the answer and
//!   whatever it was reading from;
//! - every accepted socket has `TCP_NODELAY`, so that a streamed answer's
//!   last segment is not held back waiting for a delayed acknowledgement;
//! - under pressure (fewer than a tenth of the connections free), idle
//!   keep-alive connections are closed at once, and heads and bodies that
//!   send nothing for [`crate::pressure::PRESSURE_TIMEOUT`] are answered 408, so that clients
//!   that only hold connections cannot keep new ones out.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;
use tower_service::Service;

use crate::pressure::Pressure;
use crate::state::ServerConfig;

/// What a connection is doing, for its deadlines.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for the first byte of a request, since then.
    Idle { since: Instant, first: bool },
    /// A request head is arriving, since its first byte.
    Head { since: Instant },
    /// Requests are being handled (their bodies read, their answers written).
    Busy { in_flight: usize },
}

/// A connection's phase, shared by its socket, its service and its watchdog.
#[derive(Debug)]
struct Activity {
    phase: Mutex<Phase>,
    /// Since when a write to the socket has been waiting for the client to
    /// read (its buffers full); `None` while writes go through.
    write_stalled: Mutex<Option<Instant>>,
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            phase: Mutex::new(Phase::Idle {
                since: Instant::now(),
                first: true,
            }),
            write_stalled: Mutex::new(None),
            changed: Notify::new(),
        }
    }

    /// A write went through (`stalled` false) or has to wait for the client.
    fn wrote(&self, stalled: bool) {
        let mut since = self.write_stalled.lock().unwrap_or_else(|e| e.into_inner());
        match (stalled, since.is_some()) {
            (true, false) => {
                *since = Some(Instant::now());
                drop(since);
                self.changed.notify_one();
            }
            (false, true) => *since = None,
            _ => {}
        }
    }

    fn write_stalled_since(&self) -> Option<Instant> {
        *self.write_stalled.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        *phase = f(*phase);
        drop(phase);
        self.changed.notify_one();
    }

    fn phase(&self) -> Phase {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes arrived: an idle connection starts reading a request head.
    fn received(&self) {
        if matches!(self.phase(), Phase::Idle { .. }) {
            self.update(|phase| match phase {
                Phase::Idle { first: true, since } => Phase::Head { since },
                Phase::Idle { .. } => Phase::Head {
                    since: Instant::now(),
                },
                other => other,
            });
        }
    }

    fn request_started(&self) {
        self.update(|phase| match phase {
            Phase::Busy { in_flight } => Phase::Busy {
                in_flight: in_flight + 1,
            },
            _ => Phase::Busy { in_flight: 1 },
        });
    }

    fn request_ended(&self) {
        self.update(|phase| match phase {
            Phase::Busy { in_flight } if in_flight > 1 => Phase::Busy {
                in_flight: in_flight - 1,
            },
            _ => Phase::Idle {
                since: Instant::now(),
                first: false,
            },
        });
    }
}

/// Why a connection's watchdog closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    Idle,
    Head,
    Write,
}

fn deadline(
    activity: &Activity,
    config: &ServerConfig,
    pressure: &Pressure,
) -> Option<(Instant, Expiry)> {
    if let Some(since) = activity.write_stalled_since() {
        return Some((since + config.write_timeout, Expiry::Write));
    }
    match activity.phase() {
        Phase::Idle { since, first: true } | Phase::Head { since } => Some((
            since + pressure.timeout(config.header_timeout),
            Expiry::Head,
        )),
        // Under pressure an idle keep-alive connection goes first.
        Phase::Idle {
            since,
            first: false,
        } => Some((
            if pressure.is_high() {
                since
            } else {
                since + config.keep_alive_timeout
            },
            Expiry::Idle,
        )),
        Phase::Busy { .. } => None,
    }
}

/// A socket that reports arriving bytes to its connection's [`Activity`].
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.received();
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.activity.wrote(poll.is_pending());
        poll
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_flush(cx);
        this.activity.wrote(poll.is_pending());
        poll
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.activity.wrote(poll.is_pending());
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Ends a request's part in its connection's activity when dropped: with
/// its answer's body, once written, or with the handler, if the connection
/// went away first.
struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// An answer's body that holds its request's [`RequestGuard`].
struct Guarded {
    body: Body,
    _guard: RequestGuard,
}

impl http_body::Body for Guarded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The 408 written to a connection whose request head did not arrive in time.
const HEAD_TIMEOUT_ANSWER: &[u8] = b"HTTP/1.1 408 Request Timeout\r\n\
content-type: application/json\r\n\
connection: close\r\n\
content-length: 71\r\n\
\r\n\
{\"detail\":\"the request line and headers did not arrive in time; retry\"}";

/// Serves `router` on `listener` under `config`'s connection limits until
/// `shutdown` resolves; then stops accepting, lets the requests in progress
/// finish, and returns once every connection is closed.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    config: Arc<ServerConfig>,
    pressure: Arc<Pressure>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max = config.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, or a connection reset before
                    // it was accepted: wait a moment rather than spin.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (stream, peer) = stream;
        prepare(&stream);
        pressure.update(permits.available_permits(), max);
        let router = router.clone();
        let config = Arc::clone(&config);
        let stop = stop_rx.clone();
        let (pressure, permits) = (Arc::clone(&pressure), Arc::clone(&permits));
        tokio::spawn(async move {
            connection(stream, peer, router, &config, &pressure, stop).await;
            drop(permit);
            pressure.update(permits.available_permits(), max);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit until it closes.
    let _ = permits.acquire_many(max as u32).await;
    Ok(())
}

/// Sets an accepted socket's options: `TCP_NODELAY`, so that the last
/// segment of a streamed answer is sent at once rather than after the
/// client's delayed acknowledgement (about 40 ms on Linux).
fn prepare(stream: &TcpStream) {
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(error = %err, "TCP_NODELAY not set");
    }
}

/// Serves one connection until it closes, its deadlines pass, or the server
/// stops (then gracefully: the request in progress finishes first).
async fn connection(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    router: Router,
    config: &ServerConfig,
    pressure: &Pressure,
    mut stop: watch::Receiver<bool>,
) {
    let mut pressure_changed = pressure.watch();
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        stream,
        activity: Arc::clone(&activity),
    });
    let service_activity = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        service_activity.request_started();
        let guard = RequestGuard(Arc::clone(&service_activity));
        let mut router = router.clone();
        async move {
            let mut request = request.map(Body::new);
            // The client's address, for the limit on failed keys.
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            let response = match router.call(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            Ok::<_, std::convert::Infallible>(response.map(|body| Guarded {
                body,
                _guard: guard,
            }))
        }
    });
    let mut conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // The watchdog below times heads and idle connections apart.
        .header_read_timeout(None)
        .serve_connection(io, service);
    let mut stopping = false;
    loop {
        let next = deadline(&activity, config, pressure);
        let changed = activity.changed.notified();
        tokio::select! {
            result = Pin::new(&mut conn) => {
                if let Err(err) = result {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
                return;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                Pin::new(&mut conn).graceful_shutdown();
            }
            () = changed => {}
            _ = pressure_changed.changed() => {}
            () = sleep_until(next.map(|(at, _)| at)) => {
                let Some((at, expiry)) = deadline(&activity, config, pressure) else {
                    continue;
                };
                if Instant::now() < at {
                    continue;
                }
                if expiry == Expiry::Write {
                    tracing::debug!("the client stopped reading its answer; closing");
                }
                if expiry == Expiry::Head {
                    tracing::debug!("request head timed out");
                    let mut parts = conn.into_parts();
                    let socket = &mut parts.io.inner_mut().stream;
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        socket.write_all(HEAD_TIMEOUT_ANSWER).await?;
                        socket.shutdown().await
                    })
                    .await;
                }
                return;
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_sockets_send_without_delay() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let (accepted, _) = accepted.unwrap();
        assert!(
            !accepted.nodelay().unwrap(),
            "the default differs from what we set"
        );
        prepare(&accepted);
        assert!(accepted.nodelay().unwrap());
        drop(client);
    }

    #[test]
    fn the_head_timeout_answer_says_its_length() {
        let text = std::str::from_utf8(HEAD_TIMEOUT_ANSWER).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let detail: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(detail["detail"].is_string());
    }
}
