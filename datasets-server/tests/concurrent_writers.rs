//! Many writers at once against the real server on a socket: upserts of
//! the same names never duplicate a case or lose an update, name races on
//! create have exactly one winner, conditional updates exactly one, and no
//! request is ever answered 500.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::http::Api;
use datasets_server::EmbeddedServer;
use serde_json::{Value, json};

const WRITERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_upserts_of_the_same_names_never_duplicate_or_lose_an_update() {
    let server = EmbeddedServer::start().unwrap();
    let api = std::sync::Arc::new(Api::new(&server));
    let (status, _) = api
        .send(
            reqwest::Method::POST,
            "/v1/datasets/",
            &[],
            Some(json!({"name": "upserts"})),
        )
        .await;
    assert_eq!(status, 201);
    const NAMES: usize = 10;
    const ROUNDS: usize = 25;
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let api = api.clone();
        writers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for round in 0..ROUNDS {
                let cases: Vec<Value> = (0..NAMES)
                    .map(|n| json!({"name": format!("case-{n}"), "inputs": {"writer": writer, "round": round}}))
                    .collect();
                let (status, body) = api
                    .send(
                        reqwest::Method::POST,
                        "/v1/datasets/upserts/import/?on_conflict=update",
                        &[],
                        Some(json!({ "cases": cases })),
                    )
                    .await;
                assert_eq!(status, 200, "writer {writer} round {round}: {body}");
                for case in body.as_array().unwrap() {
                    seen.push((
                        case["name"].as_str().unwrap().to_owned(),
                        case["version"].as_u64().unwrap(),
                        case["id"].as_str().unwrap().to_owned(),
                    ));
                }
            }
            seen
        }));
    }
    let mut versions: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for writer in writers {
        for (name, version, id) in writer.await.unwrap() {
            versions.entry(name.clone()).or_default().push(version);
            ids.entry(name).or_default().insert(id);
        }
    }
    let writes = (WRITERS * ROUNDS) as u64;
    for (name, mut seen) in versions {
        seen.sort_unstable();
        // Every write of the name got its own version: 1 (the create) to N, none twice, none skipped.
        assert_eq!(seen, (1..=writes).collect::<Vec<_>>(), "{name}");
        assert_eq!(ids[&name].len(), 1, "{name} is one case");
    }
    let (_, listed) = api
        .send(
            reqwest::Method::GET,
            "/v1/datasets/upserts/cases/",
            &[],
            None,
        )
        .await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), NAMES, "no duplicates");
    assert!(listed.iter().all(|case| case["version"] == writes));
    let (_, dataset) = api
        .send(reqwest::Method::GET, "/v1/datasets/upserts/", &[], None)
        .await;
    assert_eq!(dataset["case_count"], NAMES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dataset_name_races_have_exactly_one_winner() {
    let server = EmbeddedServer::start().unwrap();
    let api = std::sync::Arc::new(Api::new(&server));
    for race in 0..5 {
        let mut racers = Vec::new();
        for _ in 0..16 {
            let api = api.clone();
            racers.push(tokio::spawn(async move {
                api.send(
                    reqwest::Method::POST,
                    "/v1/datasets/",
                    &[],
                    Some(json!({"name": format!("race-{race}")})),
                )
                .await
                .0
            }));
        }
        let mut statuses = Vec::new();
        for racer in racers {
            statuses.push(racer.await.unwrap());
        }
        statuses.sort_unstable();
        assert_eq!(statuses[0], 201, "race {race}: {statuses:?}");
        assert!(
            statuses[1..].iter().all(|s| *s == 409),
            "race {race}: {statuses:?}"
        );
    }
    let (_, datasets) = api
        .send(reqwest::Method::GET, "/v1/datasets/", &[], None)
        .await;
    assert_eq!(datasets.as_array().unwrap().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_conditional_updates_let_exactly_one_writer_win() {
    let server = EmbeddedServer::start().unwrap();
    let api = std::sync::Arc::new(Api::new(&server));
    api.send(
        reqwest::Method::POST,
        "/v1/datasets/",
        &[],
        Some(json!({"name": "cas"})),
    )
    .await;
    let (_, case) = api
        .send(
            reqwest::Method::POST,
            "/v1/datasets/cas/cases/",
            &[],
            Some(json!({"inputs": {"n": 0}})),
        )
        .await;
    let path = format!("/v1/datasets/cas/cases/{}/", case["id"].as_str().unwrap());
    let mut racers = Vec::new();
    for writer in 0..16 {
        let (api, path) = (api.clone(), path.clone());
        racers.push(tokio::spawn(async move {
            let (status, body) = api
                .send(
                    reqwest::Method::PATCH,
                    &path,
                    &[("if-match", "\"1\"")],
                    // Each writer changes the value (a write of the value it
                    // holds would change nothing, and so make no version).
                    Some(json!({"inputs": {"n": writer + 1}})),
                )
                .await;
            (status, writer, body)
        }));
    }
    let mut winners = Vec::new();
    for racer in racers {
        let (status, writer, body) = racer.await.unwrap();
        match status {
            200 => winners.push(writer),
            412 => assert_eq!(body["current_version"], 2),
            other => panic!("writer {writer}: {other} {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let (_, now) = api.send(reqwest::Method::GET, &path, &[], None).await;
    assert_eq!(now["inputs"]["n"], winners[0] + 1);
    assert_eq!(now["version"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_idempotency_key_raced_is_applied_once() {
    let server = EmbeddedServer::start().unwrap();
    let api = std::sync::Arc::new(Api::new(&server));
    api.send(
        reqwest::Method::POST,
        "/v1/datasets/",
        &[],
        Some(json!({"name": "once"})),
    )
    .await;
    let mut racers = Vec::new();
    for _ in 0..16 {
        let api = api.clone();
        racers.push(tokio::spawn(async move {
            api.send(
                reqwest::Method::POST,
                "/v1/datasets/once/cases/bulk/",
                &[("idempotency-key", "one-bulk")],
                Some(json!({"cases": [{"inputs": 1}, {"inputs": 2}]})),
            )
            .await
        }));
    }
    let mut answers = BTreeSet::new();
    for racer in racers {
        let (status, body) = racer.await.unwrap();
        assert_eq!(status, 201, "{body}");
        answers.insert(body.to_string());
    }
    assert_eq!(answers.len(), 1, "every racer got the one answer");
    let (_, dataset) = api
        .send(reqwest::Method::GET, "/v1/datasets/once/", &[], None)
        .await;
    assert_eq!(dataset["case_count"], 2);
}
