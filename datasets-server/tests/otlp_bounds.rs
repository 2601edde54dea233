//! An OTLP body cannot expand past what one request may hold, against the
//! real server on a real socket: a small gzip body of millions of empty
//! spans, a span of a million empty attributes, a JSON body of a million
//! empty objects are each refused with a 413 in the API's JSON shape before
//! they are built, the process's peak memory stays within a bound, and the
//! server goes on answering. (The hardening issue's figure: a 32 KB gzip
//! body of empty spans repeated 16 million times allocated 4.7 GB.)
//!
//! One test, so that no other test of this binary moves the peak memory it
//! reads.

use std::io::Write;
use std::time::{Duration, Instant};

use datasets_server::EmbeddedServer;
use datasets_server::otlp::{MAX_JSON_VALUES, MAX_SPANS, MAX_VALUES};
use serde_json::Value;

fn varint(mut n: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A length-delimited protobuf field.
fn field(number: u64, data: &[u8], out: &mut Vec<u8>) {
    varint(number << 3 | 2, out);
    varint(data.len() as u64, out);
    out.extend_from_slice(data);
}

/// An `ExportTraceServiceRequest` of one resource and scope whose fields
/// (its spans) are `scope`.
fn export(scope: &[u8]) -> Vec<u8> {
    let mut resource = Vec::new();
    field(2, scope, &mut resource);
    let mut request = Vec::new();
    field(1, &resource, &mut request);
    request
}

/// `count` empty spans: field 2 of `ScopeSpans`, of length 0.
fn empty_spans(count: usize) -> Vec<u8> {
    [0x12u8, 0x00].repeat(count)
}

/// One span whose attributes are `count` empty `KeyValue`s (field 9).
fn span_of_empty_attributes(count: usize) -> Vec<u8> {
    let mut span = Vec::new();
    for _ in 0..count {
        span.extend_from_slice(&[0x4a, 0x00]);
    }
    let mut out = Vec::new();
    field(2, &span, &mut out);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// The process's peak resident memory, in KiB (`VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_expand_past_a_request_are_413_before_they_are_built() {
    let server = EmbeddedServer::start().unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let url = format!("{}/v1/traces", server.base_url());
    // Built before the peak is read, so that only the server's work counts.
    let bomb = gzip(&export(&empty_spans(16_000_000)));
    let over_spans = gzip(&export(&empty_spans(MAX_SPANS + 1)));
    let over_values = gzip(&export(&span_of_empty_attributes(MAX_VALUES + 1)));
    let mut json = String::from(r#"{"resourceSpans":[{"scopeSpans":[{"spans":["#);
    json.push_str(&vec!["{}"; MAX_JSON_VALUES].join(","));
    json.push_str("]}]}]}");
    let attacks: [(&str, &[u8], &str, &str); 4] = [
        ("application/x-protobuf", &bomb, "gzip", "spans"),
        ("application/x-protobuf", &over_spans, "gzip", "spans"),
        (
            "application/x-protobuf",
            &over_values,
            "gzip",
            "attribute values",
        ),
        (
            "application/json",
            json.as_bytes(),
            "identity",
            "JSON values",
        ),
    ];
    assert!(bomb.len() < 256 * 1024, "{} bytes compressed", bomb.len());
    let before = peak_rss_kib();
    for (content_type, body, encoding, says) in attacks {
        let started = Instant::now();
        let answer = http
            .post(&url)
            .bearer_auth(server.api_key())
            .header("content-type", content_type)
            .header("content-encoding", encoding)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        let took = started.elapsed();
        assert_eq!(answer.status().as_u16(), 413, "{says}");
        assert_eq!(
            answer.headers()["content-type"],
            "application/json",
            "{says}"
        );
        let detail: Value = answer.json().await.unwrap();
        let message = detail["detail"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
        assert!(took < Duration::from_secs(10), "{says}: {took:?}");
        let health = http
            .get(format!("{}/health", server.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status().as_u16(), 200);
    }
    // The bomb alone, decoded whole, would be 16 million spans of some
    // 200 bytes each: 3 GB. Refused at the 100,001st, the server's peak
    // grows by the 32 MB of decompressed body and what it cost to read it.
    let grown_mib = peak_rss_kib().saturating_sub(before) / 1024;
    eprintln!("peak RSS grew by {grown_mib} MiB");
    assert!(grown_mib < 256, "peak RSS grew by {grown_mib} MiB");
}
