//! Repeated wrong keys from one address are slowed: past the limit in a
//! window, every key from that address, the right one too, is answered 429
//! with `Retry-After` until the window ends, on the API, OTLP and the UI's
//! sign-in alike; other addresses and `/health` are unaffected. Against the
//! real server on a real socket. (The hardening issue's figure: 200 wrong
//! keys were refused in 0.11 s, with no slowdown.)

use std::time::{Duration, Instant};

use datasets_server::{EmbeddedServer, ServerConfig};

const WRONG: &str = "dsk_0000000000000000000000000000000000000000000000000000000000000000";

fn server(limit: u32, window: Duration, trust_forwarded_for: bool) -> EmbeddedServer {
    EmbeddedServer::with_config(
        ServerConfig::default()
            .failed_keys(limit, window)
            .trust_forwarded_for(trust_forwarded_for),
    )
    .unwrap()
}

async fn status_with(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    forwarded: Option<&str>,
) -> (u16, Option<String>) {
    let mut request = http.get(url).bearer_auth(key);
    if let Some(address) = forwarded {
        request = request.header("x-forwarded-for", address);
    }
    let answer = request.send().await.unwrap();
    let retry = answer
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (answer.status().as_u16(), retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_keys_past_the_limit_get_429_until_the_window_ends() {
    let server = server(5, Duration::from_secs(2), false);
    let http = reqwest::Client::new();
    let datasets = format!("{}/v1/datasets/", server.base_url());
    let info = format!("{}/v1/info", server.base_url());
    // API and OTLP keys count alike.
    for url in [&datasets, &info, &datasets, &info, &datasets] {
        assert_eq!(status_with(&http, url, WRONG, None).await.0, 401);
    }
    let started = Instant::now();
    for url in [&datasets, &info] {
        let (status, retry) = status_with(&http, url, WRONG, None).await;
        assert_eq!(status, 429, "{url}");
        let retry: u64 = retry.expect("Retry-After").parse().unwrap();
        assert!((1..=2).contains(&retry), "{retry}");
    }
    // The right key waits too: a guess that happens to be right is not told.
    let (status, _) = status_with(&http, &datasets, server.api_key(), None).await;
    assert_eq!(status, 429);
    let answer = http.get(&datasets).bearer_auth(WRONG).send().await.unwrap();
    assert_eq!(answer.headers()["content-type"], "application/json");
    let body: serde_json::Value = answer.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("try again in"),
        "{body}"
    );
    // What needs no key is unaffected.
    let health = http
        .get(format!("{}/health", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    // After the window, the right key works again.
    tokio::time::sleep(
        Duration::from_secs(2).saturating_sub(started.elapsed()) + Duration::from_millis(200),
    )
    .await;
    assert_eq!(
        status_with(&http, &datasets, server.api_key(), None)
            .await
            .0,
        200
    );
    assert_eq!(status_with(&http, &datasets, WRONG, None).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_client_address_counts_apart() {
    let server = server(3, Duration::from_secs(60), true);
    let http = reqwest::Client::new();
    let url = format!("{}/v1/datasets/", server.base_url());
    for _ in 0..3 {
        let forwarded = Some("203.0.113.9, 10.0.0.1");
        assert_eq!(status_with(&http, &url, WRONG, forwarded).await.0, 401);
    }
    assert_eq!(
        status_with(&http, &url, WRONG, Some("203.0.113.9")).await.0,
        429
    );
    // Another client behind the same proxy, and the proxy's own address.
    let other = status_with(&http, &url, server.api_key(), Some("203.0.113.10")).await;
    assert_eq!(other.0, 200);
    assert_eq!(
        status_with(&http, &url, server.api_key(), None).await.0,
        200
    );
    // Not trusted, the header is ignored: every request is the peer's.
    let plain = self::server(3, Duration::from_secs(60), false);
    let url = format!("{}/v1/datasets/", plain.base_url());
    for address in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        assert_eq!(status_with(&http, &url, WRONG, Some(address)).await.0, 401);
    }
    assert_eq!(
        status_with(&http, &url, WRONG, Some("198.51.100.4"))
            .await
            .0,
        429
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_sign_in_counts_wrong_keys_and_shows_when_to_try_again() {
    let server = server(3, Duration::from_secs(60), false);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let sign_in = format!("{}/ui/sign-in", server.base_url());
    let form = http.get(&sign_in).send().await.unwrap();
    let cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("ds_signin="))
        .expect("a sign-in cookie");
    let csrf = cookie.trim_start_matches("ds_signin=").to_owned();
    let post = |key: &str| {
        http.post(&sign_in)
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}&key={key}"))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(post(WRONG).await.unwrap().status().as_u16(), 401);
    }
    let refused = post(server.api_key()).await.unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let page = refused.text().await.unwrap();
    assert!(page.contains("try again in"), "{page}");
    // The API from the same address is held too: one count per address.
    let api = http
        .get(format!("{}/v1/datasets/", server.base_url()))
        .bearer_auth(server.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(api.status().as_u16(), 429);
}
