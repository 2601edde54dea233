//! Retries, through a small fault-injecting proxy in front of the real
//! server: the proxy answers 503 (with or without `Retry-After`) or delays a
//! request past the client's timeout, faults a real server can't produce on
//! demand. Each test counts the attempts the proxy saw.

mod support;

use std::time::{Duration, Instant};

use datasets::{DatasetsClient, Error, RetryPolicy};
use datasets_server::EmbeddedServer;
use support::{Fault, Proxy};

fn through(proxy: &Proxy, server: &EmbeddedServer, policy: RetryPolicy) -> DatasetsClient {
    DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(proxy.base_url())
        .retry(policy)
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

fn fast() -> RetryPolicy {
    RetryPolicy::default().initial_backoff(Duration::from_millis(10))
}

#[tokio::test]
async fn a_503_then_success_is_retried() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = Proxy::start(&server.base_url());
    let client = through(&proxy, &server, fast());
    proxy.inject([Fault::Status(503, None), Fault::Status(502, None)]);
    let listed = client.list_datasets().await.unwrap();
    assert!(listed.is_empty());
    assert_eq!(
        proxy.take_log().len(),
        3,
        "two faults, then the real answer"
    );
}

#[tokio::test]
async fn idempotent_writes_are_retried_too() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = Proxy::start(&server.base_url());
    let client = through(&proxy, &server, fast());
    client.create_dataset("qa").await.unwrap();
    proxy.take_log();
    proxy.inject([Fault::Status(429, None)]);
    client.update_dataset("qa").description("d").await.unwrap();
    proxy.inject([Fault::Status(504, None)]);
    client.delete_dataset("qa").await.unwrap();
    let methods: Vec<String> = proxy.take_log().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["PATCH", "PATCH", "DELETE", "DELETE"]);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = Proxy::start(&server.base_url());
    // The backoff alone would wait ~10 ms; Retry-After asks for a second.
    let client = through(&proxy, &server, fast());
    proxy.inject([Fault::Status(503, Some("1"))]);
    let started = Instant::now();
    client.list_datasets().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(proxy.take_log().len(), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_is_returned_not_waited() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = Proxy::start(&server.base_url());
    let client = through(
        &proxy,
        &server,
        fast().max_retry_after(Duration::from_secs(1)),
    );
    proxy.inject([Fault::Status(503, Some("3600"))]);
    let err = client.list_datasets().await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(proxy.take_log().len(), 1);
}

#[tokio::test]
async fn posts_are_retried_with_their_idempotency_key() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = Proxy::start(&server.base_url());
    let client = through(&proxy, &server, fast());
    proxy.inject([Fault::Status(503, None)]);
    client.create_dataset("qa").await.unwrap();
    let log = proxy.take_log();
    assert_eq!(log.len(), 2, "the 503, then the real answer");
    assert!(log[0].idempotency_key.is_some());
    assert_eq!(log[0].idempotency_key, log[1].idempotency_key);
}

#[tokio::test]
async fn posts_are_not_retried_when_retry_posts_is_off() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = Proxy::start(&server.base_url());
    let client = through(&proxy, &server, fast().retry_posts(false));
    proxy.inject([Fault::Status(503, None)]);
    let err = client.create_dataset("qa").await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 503, .. }), "{err:?}");
    assert!(
        err.is_retryable(),
        "retryable in kind, but not to be repeated here"
    );
    assert_eq!(proxy.take_log().len(), 1);
    assert!(matches!(
        client.get_dataset("qa").await.unwrap_err(),
        Error::DatasetNotFound { .. }
    ));
}

#[tokio::test]
async fn retries_off_means_one_attempt() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = Proxy::start(&server.base_url());
    let client = through(&proxy, &server, RetryPolicy::none());
    proxy.inject([Fault::Status(503, None)]);
    assert_eq!(
        client.list_datasets().await.unwrap_err().status(),
        Some(503)
    );
    assert_eq!(proxy.take_log().len(), 1);
}

#[tokio::test]
async fn giving_up_after_max_retries_returns_the_last_error() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = Proxy::start(&server.base_url());
    let client = through(&proxy, &server, fast().max_retries(2));
    proxy.inject([
        Fault::Status(503, None),
        Fault::Status(503, None),
        Fault::Status(502, None),
    ]);
    assert_eq!(
        client.list_datasets().await.unwrap_err().status(),
        Some(502)
    );
    assert_eq!(proxy.take_log().len(), 3, "one attempt and two retries");
}

#[tokio::test]
async fn a_timeout_is_retried_and_reported_when_retries_run_out() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = Proxy::start(&server.base_url());
    let client = through(&proxy, &server, fast());
    proxy.inject([Fault::Delay(Duration::from_secs(2))]);
    client.list_datasets().await.unwrap();
    assert_eq!(proxy.take_log().len(), 2);

    let client = through(&proxy, &server, RetryPolicy::none());
    proxy.inject([Fault::Delay(Duration::from_secs(2))]);
    let err = client.list_datasets().await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { timeout: true, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = Proxy::start(&server.base_url());
    let client = through(&proxy, &server, fast());
    assert!(matches!(
        client.get_dataset("missing").await.unwrap_err(),
        Error::DatasetNotFound { .. }
    ));
    proxy.inject([Fault::Status(500, None)]);
    assert_eq!(
        client.list_datasets().await.unwrap_err().status(),
        Some(500)
    );
    assert_eq!(proxy.take_log().len(), 2, "one attempt each");
}
