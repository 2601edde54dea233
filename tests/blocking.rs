//! The blocking client through the same scenario as the async one, from
//! plain `#[test]` functions with no runtime of their own.

use datasets::Error;
use datasets::blocking::DatasetsClient;
use datasets::wire::{NewCase, NewDataset, OnConflict};
use datasets_server::EmbeddedServer;
use serde_json::json;

fn client(server: &EmbeddedServer) -> DatasetsClient {
    DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .unwrap()
}

#[test]
fn every_operation_without_async() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    let created = client
        .create_dataset("qa")
        .input_schema(json!({"type": "object", "required": ["question"]}))
        .send()
        .unwrap();
    assert_eq!(
        client
            .get_dataset(created.id.to_string())
            .send()
            .unwrap()
            .name,
        "qa"
    );
    assert_eq!(client.list_datasets().send().unwrap().len(), 1);
    client.update_dataset("qa").description("d").send().unwrap();

    let added = client
        .add_case(
            "qa",
            NewCase {
                name: Some("one".into()),
                ..NewCase::new(json!({"question": "q"}))
            },
        )
        .tags(["t"])
        .send()
        .unwrap();
    client
        .add_cases("qa", vec![NewCase::new(json!({"question": "q2"}))])
        .send()
        .unwrap();
    client
        .create_case("qa", json!({"question": "q3"}))
        .source_trace_id("t")
        .source_span_id("s")
        .send()
        .unwrap();
    assert_eq!(client.list_cases("qa").send().unwrap().len(), 3);
    assert_eq!(client.list_cases("qa").tags(["t"]).send().unwrap().len(), 1);
    assert_eq!(client.get_case("qa", added.id).send().unwrap().id, added.id);
    let updated = client
        .update_case("qa", added.id)
        .metadata(json!({"k": 1}))
        .send()
        .unwrap();
    assert_eq!(updated.version, 2);
    client
        .import_cases(
            "qa",
            vec![NewCase {
                name: Some("one".into()),
                ..NewCase::new(json!({"question": "again"}))
            }],
        )
        .on_conflict(OnConflict::Update)
        .send()
        .unwrap();
    assert_eq!(client.export_dataset("qa").send().unwrap().cases.len(), 3);
    let pushed = client
        .push_dataset(
            NewDataset {
                name: "qa".into(),
                ..NewDataset::default()
            },
            vec![],
        )
        .send()
        .unwrap();
    assert_eq!(pushed.case_count, 3);

    let err = client
        .add_case("qa", NewCase::new(json!({})))
        .send()
        .unwrap_err();
    assert_eq!(err.status(), Some(422));
    client.delete_case("qa", added.id).send().unwrap();
    assert!(matches!(
        client.get_case("qa", added.id).send().unwrap_err(),
        Error::CaseNotFound { .. }
    ));
    client.delete_dataset("qa").send().unwrap();
    assert!(matches!(
        client.get_dataset("qa").send().unwrap_err(),
        Error::DatasetNotFound { .. }
    ));
}

#[test]
fn clones_work_from_many_threads() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    client.create_dataset("shared").send().unwrap();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let client = client.clone();
            scope.spawn(move || {
                for i in 0..10 {
                    client
                        .create_case("shared", json!({"t": t, "i": i}))
                        .send()
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(client.get_dataset("shared").send().unwrap().case_count, 40);
}

#[tokio::test]
async fn inside_an_async_runtime_it_errs_instead_of_deadlocking() {
    let server = EmbeddedServer::start().unwrap();
    let (key, url) = (server.api_key().to_owned(), server.base_url());
    let client = std::thread::spawn(move || {
        DatasetsClient::builder()
            .api_key(key)
            .base_url(url)
            .build()
            .unwrap()
    })
    .join()
    .unwrap();
    let err = client.list_datasets().send().unwrap_err();
    assert!(
        matches!(err, Error::Blocking(ref msg) if msg.contains("async runtime")),
        "{err:?}"
    );
    // spawn_blocking threads are inside the runtime too: same clear error.
    let on_blocking_thread = {
        let client = client.clone();
        tokio::task::spawn_blocking(move || client.list_datasets().send())
            .await
            .unwrap()
    };
    assert!(matches!(on_blocking_thread, Err(Error::Blocking(_))));
    // A plain thread started from async code is fine.
    let listed = std::thread::spawn(move || client.list_datasets().send())
        .join()
        .unwrap()
        .unwrap();
    assert!(listed.is_empty());
    // Dropping a blocking client inside async code does not panic.
    let server2 = EmbeddedServer::start().unwrap();
    let (key, url) = (server2.api_key().to_owned(), server2.base_url());
    let dropped_here = std::thread::spawn(move || {
        DatasetsClient::builder()
            .api_key(key)
            .base_url(url)
            .build()
            .unwrap()
    })
    .join()
    .unwrap();
    drop(dropped_here);
}

#[test]
fn the_blocking_client_iterates_cases_a_page_at_a_time() {
    let server = datasets_server::EmbeddedServer::start().unwrap();
    let client = datasets::blocking::DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .unwrap();
    client.create_dataset("paged").send().unwrap();
    let cases: Vec<datasets::wire::NewCase> = (0..25)
        .map(|n| datasets::wire::NewCase::new(serde_json::json!(n)))
        .collect();
    client.add_cases("paged", cases).send().unwrap();
    let seen: Vec<u64> = client
        .list_cases("paged")
        .page_size(10)
        .iter()
        .map(|case| case.unwrap().inputs.as_u64().unwrap())
        .collect();
    assert_eq!(seen, (0..25).collect::<Vec<_>>());
}
