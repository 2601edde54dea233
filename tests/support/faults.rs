//! A fault-injecting TCP proxy, for the faults of a network that a real
//! server can't produce on demand: a connection reset before the request
//! arrives, an answer lost after the server applied the request (reset, or
//! cut off mid-body), an answer delayed past the client's timeout, and a 503
//! with `Retry-After` from something in between.
//!
//! It reads one HTTP/1.1 request per client connection (headers and a
//! `Content-Length` body), forwards it to the upstream server on a fresh
//! connection with `Connection: close`, and relays the answer as raw bytes,
//! unless the next queued fault says otherwise.

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum NetFault {
    /// Reset the connection before forwarding: the server never sees it.
    ResetBefore,
    /// Forward (the server applies it), then reset instead of answering.
    ResetAfter,
    /// Forward, then send only the first bytes of the answer and close.
    Truncate(usize),
    /// Forward, then hold the answer this long before relaying it.
    DelayAnswer(Duration),
    /// Answer `503` with `Retry-After: seconds` without forwarding.
    Unavailable(u64),
}

/// A request the proxy saw: its request line and idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub fault: Option<NetFault>,
}

#[derive(Default)]
struct Shared {
    faults: Mutex<VecDeque<NetFault>>,
    seen: Mutex<Vec<Seen>>,
}

/// The proxy; dropping it stops accepting connections.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy in front of `upstream` (`http://host:port`). Needs a tokio runtime.
    pub async fn start(upstream: &str) -> Self {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("an http://ip:port upstream");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let accept_shared = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let shared = accept_shared.clone();
                tokio::spawn(async move {
                    let _ = relay(client, upstream, &shared).await;
                });
            }
        });
        Self { addr, shared, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues faults for the next requests, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = NetFault>) {
        self.shared.faults.lock().unwrap().extend(faults);
    }

    /// Takes the requests seen so far.
    pub fn take_seen(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.shared.seen.lock().unwrap())
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads a request's head and body; `None` when the client closed first.
async fn read_request(client: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let read = client.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let read = client.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Ok(Some((head, body)))
}

fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// Resets a connection: `SO_LINGER` zero makes the close an RST.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

async fn relay(
    mut client: TcpStream,
    upstream: SocketAddr,
    shared: &Shared,
) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&mut client).await? else {
        return Ok(());
    };
    let mut request_line = head.lines().next().unwrap_or("").split_whitespace();
    let fault = shared.faults.lock().unwrap().pop_front();
    shared.seen.lock().unwrap().push(Seen {
        method: request_line.next().unwrap_or("").to_owned(),
        path: request_line.next().unwrap_or("").to_owned(),
        idempotency_key: header(&head, "idempotency-key").map(str::to_owned),
        fault: fault.clone(),
    });
    match fault {
        Some(NetFault::ResetBefore) => {
            reset(client);
            return Ok(());
        }
        Some(NetFault::Unavailable(seconds)) => {
            let body = r#"{"detail":"injected by the fault proxy"}"#;
            let answer = format!(
                "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
                 retry-after: {seconds}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(answer.as_bytes()).await?;
            return client.shutdown().await;
        }
        _ => {}
    }
    // Forward with `Connection: close`, so the answer ends at end of stream.
    let mut forwarded = String::new();
    for line in head.trim_end_matches("\r\n\r\n").split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("connection: close\r\n\r\n");
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(forwarded.as_bytes()).await?;
    server.write_all(&body).await?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).await?;
    match fault {
        Some(NetFault::ResetAfter) => reset(client),
        Some(NetFault::Truncate(bytes)) => {
            client.write_all(&answer[..bytes.min(answer.len())]).await?;
            client.flush().await?;
            reset(client);
        }
        Some(NetFault::DelayAnswer(wait)) => {
            tokio::time::sleep(wait).await;
            // The client may have given up; it retried on another connection.
            let _ = client.write_all(&answer).await;
        }
        _ => {
            client.write_all(&answer).await?;
            client.shutdown().await?;
        }
    }
    Ok(())
}
