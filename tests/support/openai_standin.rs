//! A local stand-in for an OpenAI-compatible chat-completions endpoint, for
//! the LLM judge's tests: a third-party service that cannot run here. It
//! records every request, answers with scripted faults (a status with
//! `Retry-After`, a delay, a malformed answer) and otherwise with a
//! deterministic verdict computed from the prompt, so a Rust and a Python
//! run against it get the same answers. It counts calls in flight.

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// What the stand-in does with the next request, instead of judging.
#[derive(Debug, Clone)]
pub enum Script {
    /// Answer this status (with `Retry-After`, if given).
    Status(u16, Option<&'static str>),
    /// Wait, then judge.
    Delay(Duration),
    /// Answer with this text as the message's content (no tool call).
    Content(&'static str),
    /// Answer with these tool-call arguments.
    Arguments(&'static str),
}

/// A request as the stand-in saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Script>>,
    seen: Mutex<Vec<Seen>>,
    /// A delay for every request, after any scripted one.
    delay: Mutex<Option<Duration>>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

/// The running stand-in.
pub struct StandIn {
    pub base_url: String,
    shared: Arc<Shared>,
}

impl StandIn {
    /// Starts it on a thread of its own (so async tests can use it too).
    pub fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(complete))
            .with_state(Arc::clone(&shared));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        let addr = rx.recv().unwrap();
        Self {
            base_url: format!("http://{addr}/v1"),
            shared,
        }
    }

    /// Scripts the next requests, in order.
    pub fn script(&self, steps: impl IntoIterator<Item = Script>) {
        self.shared.script.lock().unwrap().extend(steps);
    }

    /// Delays every request by `delay`.
    pub fn delay_all(&self, delay: Duration) {
        *self.shared.delay.lock().unwrap() = Some(delay);
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Forgets the requests seen.
    pub fn clear(&self) {
        self.shared.seen.lock().unwrap().clear();
    }

    /// The most requests that were in flight at once.
    pub fn peak_in_flight(&self) -> usize {
        self.shared.peak.load(Ordering::SeqCst)
    }
}

/// The verdict the stand-in gives a prompt: a pass when the user prompt
/// holds "Paris", a score from its length, a reason naming both. (A
/// prompt holding "needs a retry" first gets a verdict without `pass`.)
pub fn verdict(user: &str) -> Value {
    let pass = user.contains("Paris");
    let score = (user.chars().count() % 10) as f64 / 10.0;
    json!({"reason": format!("{} characters; Paris {}", user.chars().count(), if pass { "found" } else { "absent" }), "pass": pass, "score": score})
}

fn answer(model: &Value, message: Value) -> Value {
    json!({
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    })
}

fn tool_call(arguments: String) -> Value {
    json!({"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "final_result", "arguments": arguments}}
    ]})
}

async fn complete(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.peak.fetch_max(now, Ordering::SeqCst);
    shared.seen.lock().unwrap().push(Seen {
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.clone(),
    });
    let step = shared.script.lock().unwrap().pop_front();
    let delay = *shared.delay.lock().unwrap();
    let response = match step {
        Some(Script::Status(status, retry_after)) => {
            let mut response = (
                StatusCode::from_u16(status).unwrap(),
                Json(
                    json!({"error": {"message": format!("scripted {status}"), "type": "standin"}}),
                ),
            )
                .into_response();
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", seconds.parse().unwrap());
            }
            response
        }
        Some(Script::Content(text)) => Json(answer(
            &body["model"],
            json!({"role": "assistant", "content": text}),
        ))
        .into_response(),
        Some(Script::Arguments(arguments)) => {
            Json(answer(&body["model"], tool_call(arguments.to_owned()))).into_response()
        }
        other => {
            if let Some(Script::Delay(wait)) = other {
                tokio::time::sleep(wait).await;
            }
            if let Some(wait) = delay {
                tokio::time::sleep(wait).await;
            }
            let user = body["messages"][1]["content"].as_str().unwrap_or("");
            let first_try = body["messages"].as_array().is_some_and(|m| m.len() == 2);
            let arguments = if user.contains("needs a retry") && first_try {
                // A verdict without `pass`, the first time: sent back for another try.
                json!({"reason": "forgot the verdict", "score": 0.5})
            } else {
                verdict(user)
            };
            Json(answer(&body["model"], tool_call(arguments.to_string()))).into_response()
        }
    };
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}
