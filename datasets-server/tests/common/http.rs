//! Requests to an [`EmbeddedServer`] over its real socket, with its key.

use datasets_server::EmbeddedServer;
use reqwest::header::HeaderMap;
use serde_json::Value;

pub struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    pub fn new(server: &EmbeddedServer) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: server.base_url().to_owned(),
            key: server.api_key().to_owned(),
        }
    }

    /// Status, headers and JSON body (`null` when the body is not JSON).
    pub async fn answer(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, HeaderMap, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (
            status,
            headers,
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// Status and JSON body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, _, body) = self.answer(method, path, headers, body).await;
        (status, body)
    }

    /// A POST that must succeed; its body.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self
            .send(reqwest::Method::POST, path, &[], Some(body))
            .await;
        assert!(
            (200..300).contains(&status),
            "POST {path}: {status} {answer}"
        );
        answer
    }
}
