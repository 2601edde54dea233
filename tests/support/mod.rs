//! Support for the integration tests: the real server in-process, and a
//! small proxy in front of it that records requests and injects the faults a
//! real server can't produce on demand (a 503 with `Retry-After`, a delay
//! past the client's timeout).

#![allow(dead_code, unreachable_pub)]

pub mod faults;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use datasets::DatasetsClient;
use datasets_server::EmbeddedServer;
use serde_json::Value;

/// An async client of `server` with default options.
pub fn client(server: &EmbeddedServer) -> DatasetsClient {
    DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .unwrap()
}

/// A fault the proxy injects instead of (or before) forwarding one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status (and `Retry-After`, if given) without forwarding.
    Status(u16, Option<&'static str>),
    /// Wait, then forward.
    Delay(Duration),
}

/// A request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub idempotency_key: Option<String>,
    pub fault: Option<Fault>,
}

struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    faults: Mutex<VecDeque<Fault>>,
    log: Mutex<Vec<Recorded>>,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
}

/// The proxy: faults are injected into the next requests, in order.
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    pub fn start(upstream: &str) -> Self {
        let state = Arc::new(ProxyState {
            upstream: upstream.to_owned(),
            http: reqwest::Client::new(),
            faults: Mutex::new(VecDeque::new()),
            log: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            peak_in_flight: AtomicUsize::new(0),
        });
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let thread_state = state.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready_tx.send(listener.local_addr().unwrap()).unwrap();
                let app = axum::Router::new()
                    .fallback(forward)
                    .with_state(thread_state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = shutdown_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = ready_rx.recv().unwrap();
        Self {
            addr,
            state,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues faults for the next requests.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.faults.lock().unwrap().extend(faults);
    }

    /// Takes the requests recorded so far.
    pub fn take_log(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.state.log.lock().unwrap())
    }

    /// The most requests the proxy has held at once.
    pub fn peak_in_flight(&self) -> usize {
        self.state.peak_in_flight.load(Ordering::SeqCst)
    }
}

/// Counts a request in flight for as long as it lives.
struct InFlight<'a>(&'a ProxyState);

impl<'a> InFlight<'a> {
    fn enter(state: &'a ProxyState) -> Self {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn forward(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    let _in_flight = InFlight::enter(&state);
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let fault = state.faults.lock().unwrap().pop_front();
    state.log.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query,
        body: serde_json::from_slice(&body).ok(),
        idempotency_key: parts
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        fault: fault.clone(),
    });
    match fault {
        Some(Fault::Status(status, retry_after)) => {
            let mut response = (
                StatusCode::from_u16(status).unwrap(),
                [("content-type", "application/json")],
                r#"{"detail":"injected by the test proxy"}"#,
            )
                .into_response();
            if let Some(wait) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from_static(wait));
            }
            return response;
        }
        Some(Fault::Delay(wait)) => tokio::time::sleep(wait).await,
        None => {}
    }
    let url = format!(
        "{}{}",
        state.upstream,
        parts.uri.path_and_query().map_or("", |p| p.as_str())
    );
    let mut upstream = state.http.request(parts.method, url).body(body);
    for name in [
        "authorization",
        "content-type",
        "if-match",
        "idempotency-key",
    ] {
        if let Some(value) = parts.headers.get(name) {
            upstream = upstream.header(name, value);
        }
    }
    match upstream.send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let bytes = answer.bytes().await.unwrap_or_default();
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            for (name, value) in &headers {
                if !matches!(
                    name.as_str(),
                    "content-length" | "transfer-encoding" | "connection"
                ) {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(err) => (StatusCode::BAD_GATEWAY, err.to_string()).into_response(),
    }
}
