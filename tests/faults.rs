//! The client under network faults, through a fault-injecting TCP proxy in
//! front of the real server (`support/faults.rs`): connections reset before
//! or after the server applied a request, answers cut off mid-body or held
//! past the client's timeout, 503s with `Retry-After`. Every operation
//! either succeeds, applied exactly once, or reports an error; never a
//! silent duplicate or a partial write.

mod support;

use std::time::{Duration, Instant};

use datasets::wire::{NewCase, OnConflict};
use datasets::{DatasetsClient, Error, RetryPolicy};
use datasets_server::EmbeddedServer;
use serde_json::json;
use support::faults::{FaultProxy, NetFault};

const TIMEOUT: Duration = Duration::from_millis(400);

fn through(proxy: &FaultProxy, server: &EmbeddedServer, policy: RetryPolicy) -> DatasetsClient {
    DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(proxy.base_url())
        .timeout(TIMEOUT)
        .retry(policy)
        .build()
        .unwrap()
}

fn patient() -> RetryPolicy {
    RetryPolicy::default()
        .max_retries(4)
        .initial_backoff(Duration::from_millis(5))
}

/// The faults after which the server has applied the request but the
/// client never got the answer.
fn lost_answers() -> [NetFault; 4] {
    [
        NetFault::ResetAfter,
        NetFault::Truncate(12),
        NetFault::Truncate(300),
        NetFault::DelayAnswer(TIMEOUT * 3),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_whose_answer_is_lost_is_retried_and_applied_once() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = FaultProxy::start(&server.base_url()).await;
    let client = through(&proxy, &server, patient());
    let direct = support::client(&server);
    for (n, fault) in lost_answers().into_iter().enumerate() {
        // Create a dataset, add one unnamed case, add two in bulk, import one.
        let name = format!("lost-{n}");
        proxy.inject([fault.clone()]);
        client.create_dataset(&name).await.unwrap();
        proxy.inject([fault.clone()]);
        client
            .add_case(&name, NewCase::new(json!({"n": 1})))
            .await
            .unwrap();
        proxy.inject([fault.clone()]);
        let bulk = vec![NewCase::new(json!({"n": 2})), NewCase::new(json!({"n": 3}))];
        assert_eq!(client.add_cases(&name, bulk).await.unwrap().len(), 2);
        proxy.inject([fault.clone()]);
        let import = vec![NewCase {
            name: Some("named".into()),
            ..NewCase::new(json!({"n": 4}))
        }];
        client.import_cases(&name, import).await.unwrap();

        let seen = proxy.take_seen();
        assert_eq!(seen.len(), 8, "{fault:?}: each POST twice: {seen:?}");
        for pair in seen.chunks(2) {
            assert_eq!(pair[0].fault.as_ref(), Some(&fault));
            assert!(pair[0].idempotency_key.is_some());
            assert_eq!(
                pair[0].idempotency_key, pair[1].idempotency_key,
                "a retry reuses its key"
            );
        }
        assert_ne!(
            seen[0].idempotency_key, seen[2].idempotency_key,
            "each POST has its own"
        );
        let cases = direct.list_cases(&name).await.unwrap();
        let inputs: Vec<i64> = cases
            .iter()
            .map(|c| c.inputs["n"].as_i64().unwrap())
            .collect();
        assert_eq!(inputs, [1, 2, 3, 4], "{fault:?}: applied once each");
        assert!(
            cases.iter().all(|c| c.version == 1),
            "{fault:?}: the import ran once"
        );
    }
    assert_eq!(direct.list_datasets().await.unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_reset_before_it_arrives_is_retried_and_applied_once() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = FaultProxy::start(&server.base_url()).await;
    let client = through(&proxy, &server, patient());
    proxy.inject([NetFault::ResetBefore, NetFault::ResetBefore]);
    client.create_dataset("qa").await.unwrap();
    proxy.inject([NetFault::ResetBefore]);
    client.add_case("qa", NewCase::new(json!(1))).await.unwrap();
    proxy.inject([NetFault::ResetBefore]);
    assert_eq!(client.list_cases("qa").await.unwrap().len(), 1);
    assert_eq!(proxy.take_seen().len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_with_retry_after_on_a_post_is_waited_out_and_applied_once() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = FaultProxy::start(&server.base_url()).await;
    let client = through(&proxy, &server, patient());
    client.create_dataset("qa").await.unwrap();
    proxy.inject([NetFault::Unavailable(1)]);
    let started = Instant::now();
    client.add_case("qa", NewCase::new(json!(1))).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(client.get_dataset("qa").await.unwrap().case_count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_and_deletes_whose_answers_are_lost_end_as_asked() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = FaultProxy::start(&server.base_url()).await;
    let client = through(&proxy, &server, patient());
    client.create_dataset("qa").await.unwrap();
    let case = client.add_case("qa", NewCase::new(json!(1))).await.unwrap();
    for fault in lost_answers() {
        proxy.inject([fault.clone()]);
        let updated = client
            .update_case("qa", case.id)
            .tags([format!("{fault:?}")])
            .await
            .unwrap();
        assert_eq!(updated.tags, [format!("{fault:?}")]);
    }
    // The delete was applied before its answer was lost; the retry finds
    // the case gone, which is what was asked.
    proxy.inject([NetFault::ResetAfter]);
    client.delete_case("qa", case.id).await.unwrap();
    proxy.inject([NetFault::Truncate(5)]);
    client.delete_dataset("qa").await.unwrap();
    assert!(matches!(
        client.get_dataset("qa").await,
        Err(Error::DatasetNotFound { .. })
    ));
    // A delete of what is not there, answered, is still an error. (After a
    // reset the client cannot tell "never there" from "deleted by the
    // attempt that was cut off", and reports success.)
    assert!(matches!(
        client.delete_dataset("qa").await,
        Err(Error::DatasetNotFound { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_post_retries_a_lost_answer_is_reported_not_duplicated() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = FaultProxy::start(&server.base_url()).await;
    let client = through(&proxy, &server, patient().retry_posts(false));
    client.create_dataset("qa").await.unwrap();
    proxy.inject([NetFault::ResetAfter]);
    let err = client
        .add_case("qa", NewCase::new(json!(1)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport { connect: false, .. }),
        "{err:?}"
    );
    // Applied once (the server did it), reported as an error, never repeated.
    assert_eq!(client.get_dataset("qa").await.unwrap().case_count, 1);
    assert_eq!(
        proxy
            .take_seen()
            .iter()
            .filter(|s| s.method == "POST")
            .count(),
        2
    );
}

/// Every third request meets a fault, cycling through all of them, over a
/// scripted run of every kind of write; the end state must be exactly what
/// the script describes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_run_under_faults_ends_in_exactly_the_expected_state() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = FaultProxy::start(&server.base_url()).await;
    let client = through(&proxy, &server, patient());
    let faults = [
        NetFault::ResetBefore,
        NetFault::ResetAfter,
        NetFault::Truncate(40),
        NetFault::DelayAnswer(TIMEOUT * 3),
        NetFault::Unavailable(0),
    ];
    let mut schedule = faults.iter().cycle();
    let mut next_fault = |proxy: &FaultProxy| {
        if let Some(fault) = schedule.next() {
            proxy.inject([fault.clone()]);
        }
    };
    next_fault(&proxy);
    client.create_dataset("script").await.unwrap();
    // (the id, for single adds that a later delete names; the name; the input)
    let mut expected: Vec<(Option<uuid::Uuid>, Option<String>, i64)> = Vec::new();
    let mut ids = Vec::new();
    for round in 0..10i64 {
        next_fault(&proxy);
        let case = client
            .add_case("script", NewCase::new(json!({"n": round})))
            .await
            .unwrap();
        ids.push(case.id);
        expected.push((Some(case.id), None, round));
        if round % 3 == 0 {
            next_fault(&proxy);
            let batch = (0..3)
                .map(|i| NewCase::new(json!({"n": round * 100 + i})))
                .collect();
            client.add_cases("script", batch).await.unwrap();
            expected.extend((0..3).map(|i| (None, None, round * 100 + i)));
        }
        if round % 4 == 1 {
            next_fault(&proxy);
            let named = vec![NewCase {
                name: Some(format!("named-{}", round % 2)),
                ..NewCase::new(json!({"n": -round}))
            }];
            client
                .import_cases("script", named)
                .on_conflict(OnConflict::Update)
                .await
                .unwrap();
            match expected
                .iter_mut()
                .find(|(_, name, _)| name.as_deref() == Some("named-1"))
            {
                Some(existing) => existing.2 = -round,
                None => expected.push((None, Some("named-1".into()), -round)),
            }
        }
        if round % 5 == 4 {
            let victim = ids.remove(0);
            next_fault(&proxy);
            client.delete_case("script", victim).await.unwrap();
            expected.retain(|(id, _, _)| *id != Some(victim));
        }
    }
    let cases = support::client(&server).list_cases("script").await.unwrap();
    let got: Vec<(Option<String>, i64)> = cases
        .iter()
        .map(|c| (c.name.clone(), c.inputs["n"].as_i64().unwrap()))
        .collect();
    let expected: Vec<(Option<String>, i64)> =
        expected.into_iter().map(|(_, name, n)| (name, n)).collect();
    assert_eq!(got, expected);
    let faulted = proxy
        .take_seen()
        .iter()
        .filter(|s| s.fault.is_some())
        .count();
    assert!(faulted >= 20, "{faulted} requests met a fault");
}
