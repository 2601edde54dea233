//! Crash safety: SIGKILL the server process during a stream of bulk imports,
//! restart it on the same file, and check that every import is wholly present
//! or wholly absent, that every acknowledged import is present, and that
//! `case_count` matches the stored rows.

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use support::{KEY, ServerProcess, client, temp_db};

const BATCH: usize = 200;
const KILL_CYCLES: usize = 3;

async fn send(
    client: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Result<(u16, Value)> {
    let mut request = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(KEY);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    Ok((status, body))
}

fn batch_body(batch: usize) -> Value {
    let cases: Vec<Value> = (0..BATCH)
        .map(|i| {
            json!({
                "name": format!("b{batch}-{i}"),
                "inputs": {"question": format!("question {i} of batch {batch}")},
                "expected_output": {"answer": "x", "confidence": 0.5},
                "tags": [format!("batch-{batch}")],
            })
        })
        .collect();
    json!({ "cases": cases })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_import_is_all_or_nothing_across_sigkill() {
    let (_dir, db) = temp_db();
    let client = client();
    let mut server = ServerProcess::start(&db);
    let (status, body) = send(
        &client,
        &server.base_url,
        reqwest::Method::POST,
        "/v1/datasets/",
        Some(json!({
            "name": "crash",
            "input_schema": {"type": "object", "properties": {"question": {"type": "string"}}, "required": ["question"]},
            "output_schema": {"type": "object", "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}}},
        })),
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{body}");

    let attempted = Arc::new(Mutex::new(BTreeSet::new()));
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let mut next_batch = 0usize;
    for cycle in 0..KILL_CYCLES {
        // Two writers stream imports until the server dies under them.
        let mut writers = Vec::new();
        for writer in 0..2 {
            let (client, base) = (client.clone(), server.base_url.clone());
            let (attempted, acknowledged) = (attempted.clone(), acknowledged.clone());
            let first = next_batch + writer * 10_000;
            writers.push(tokio::spawn(async move {
                for batch in first.. {
                    attempted.lock().unwrap().insert(batch);
                    match send(
                        &client,
                        &base,
                        reqwest::Method::POST,
                        "/v1/datasets/crash/cases/bulk/",
                        Some(batch_body(batch)),
                    )
                    .await
                    {
                        Ok((201, _)) => {
                            acknowledged.lock().unwrap().insert(batch);
                        }
                        Ok((status, body)) => panic!("batch {batch}: unexpected {status}: {body}"),
                        Err(_) => return, // the server is gone
                    }
                }
            }));
        }
        // Let a few imports land, then kill mid-stream.
        let target = acknowledged.lock().unwrap().len() + 3;
        while acknowledged.lock().unwrap().len() < target {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(7 * (cycle as u64 + 1))).await;
        server.kill();
        for writer in writers {
            writer.await.unwrap();
        }
        next_batch += 100_000;

        server = ServerProcess::start(&db);
        let (status, listed) = send(
            &client,
            &server.base_url,
            reqwest::Method::GET,
            "/v1/datasets/crash/cases/",
            None,
        )
        .await
        .unwrap();
        assert_eq!(status, 200);
        let listed = listed.as_array().unwrap();
        let (_, dataset) = send(
            &client,
            &server.base_url,
            reqwest::Method::GET,
            "/v1/datasets/crash/",
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            dataset["case_count"].as_u64().unwrap() as usize,
            listed.len(),
            "case_count matches the rows after cycle {cycle}"
        );

        let mut per_batch = std::collections::BTreeMap::<usize, usize>::new();
        for case in listed {
            let tag = case["tags"][0].as_str().unwrap();
            let batch: usize = tag.trim_start_matches("batch-").parse().unwrap();
            *per_batch.entry(batch).or_default() += 1;
        }
        for (batch, count) in &per_batch {
            assert_eq!(
                *count, BATCH,
                "batch {batch} is partially present after cycle {cycle}"
            );
            assert!(attempted.lock().unwrap().contains(batch));
        }
        for batch in acknowledged.lock().unwrap().iter() {
            assert!(
                per_batch.contains_key(batch),
                "acknowledged batch {batch} was lost in cycle {cycle}"
            );
        }
        let unacknowledged_present = per_batch
            .keys()
            .filter(|b| !acknowledged.lock().unwrap().contains(b))
            .count();
        eprintln!(
            "cycle {cycle}: {} batches acknowledged, {} present, {} committed but unacknowledged when killed",
            acknowledged.lock().unwrap().len(),
            per_batch.len(),
            unacknowledged_present
        );
    }
}
