//! Dataset versions through the async, blocking and typed clients against
//! the real server: listing, one version, tags, diffs, reads at a version
//! (list, page stream, get, export), and an evaluation that records the
//! dataset version it ran on.

mod support;

use datasets::eval::EqualsExpected;
use datasets::wire::{CaseChange, NewCase};
use datasets::{DatasetSchema, EmbeddedServer, Error, VersionRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use support::client;

fn named(name: &str, q: &str, answer: &str) -> NewCase {
    NewCase {
        name: Some(name.to_owned()),
        expected_output: Some(json!(answer)),
        ..NewCase::new(json!({ "q": q }))
    }
}

#[tokio::test]
async fn the_async_client_reads_lists_tags_and_diffs_versions() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    let created = client.create_dataset("qa").await.unwrap();
    assert_eq!(created.version, Some(1));
    let made = client
        .add_cases("qa", vec![named("a", "1+1", "2"), named("b", "2+2", "4")])
        .await
        .unwrap();
    client
        .update_case("qa", made[0].id)
        .expected_output(json!("two"))
        .await
        .unwrap();
    client.delete_case("qa", made[1].id).await.unwrap();
    client.add_case("qa", named("c", "3+3", "6")).await.unwrap();

    let versions = client.list_versions("qa").await.unwrap();
    let numbers: Vec<u64> = versions.iter().map(|v| v.version).collect();
    assert_eq!(numbers, [5, 4, 3, 2, 1]);
    assert_eq!(
        (versions[3].added, versions[2].changed, versions[1].removed),
        (2, 1, 1)
    );
    assert_eq!(client.list_versions("qa").limit(2).await.unwrap().len(), 2);

    // Version 2 as it was, three ways.
    let export = client.export_dataset("qa").version(2).await.unwrap();
    assert_eq!(export.version, Some(2));
    let names: Vec<_> = export
        .cases
        .iter()
        .map(|c| c.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(export.cases[0].expected_output, Some(json!("2")));
    let listed = client.list_cases("qa").version(2).await.unwrap();
    assert_eq!(listed.len(), 2);
    let mut paged = client.list_cases("qa").version(2).page_size(1).stream();
    let mut seen = Vec::new();
    while let Some(case) = paged.next().await {
        seen.push(case.unwrap().name.unwrap());
    }
    assert_eq!(seen, ["a", "b"]);
    let old = client.get_case("qa", made[1].id).version(2).await.unwrap();
    assert_eq!(old.name.as_deref(), Some("b"));
    assert!(matches!(
        client.get_case("qa", made[1].id).await,
        Err(Error::CaseNotFound { .. })
    ));
    let head = client.export_dataset("qa").await.unwrap();
    assert_eq!(head.version, Some(5));
    let at_time = client
        .export_dataset("qa")
        .as_of(time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(at_time.version, Some(5));
    assert_eq!(
        client
            .get_dataset("qa")
            .version(2)
            .await
            .unwrap()
            .case_count,
        2
    );

    // Tags, usable wherever a number is.
    let tagged = client.tag_version("qa", 2, "baseline").await.unwrap();
    assert_eq!(tagged.tags, ["baseline"]);
    let by_tag = client
        .export_dataset("qa")
        .version("baseline")
        .await
        .unwrap();
    assert_eq!(by_tag.version, Some(2));
    let diff = client.diff("qa", "baseline", 5).await.unwrap();
    let changes: Vec<(CaseChange, Option<String>, Vec<String>)> = diff
        .into_iter()
        .map(|d| (d.change, d.name, d.fields))
        .collect();
    assert_eq!(
        changes,
        [
            (
                CaseChange::Changed,
                Some("a".into()),
                vec!["expected_output".into()]
            ),
            (CaseChange::Removed, Some("b".into()), vec![]),
            (CaseChange::Added, Some("c".into()), vec![]),
        ]
    );
    let untagged = client
        .tag_version("qa", 2, "baseline")
        .remove()
        .await
        .unwrap();
    assert!(untagged.tags.is_empty());
    match client.export_dataset("qa").version("baseline").await {
        Err(Error::VersionNotFound {
            version, dataset, ..
        }) => {
            assert_eq!(version.as_deref(), Some("baseline"));
            assert_eq!(dataset.as_deref(), Some("qa"));
        }
        other => panic!("expected a 404, got {other:?}"),
    }
    let err = client
        .get_version("qa", VersionRef::from(99))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(
        err.to_string(),
        "version 99 of dataset `qa` not found (Version not found)"
    );
    let tag_err = client.tag_version("qa", 2, "2027").await.unwrap_err();
    assert!(tag_err.to_string().contains("digits"), "{tag_err}");
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct Question {
    q: String,
}

#[derive(DatasetSchema)]
#[dataset(name = "arith")]
#[allow(dead_code)]
struct Arith {
    inputs: Question,
    expected_output: String,
}

#[tokio::test]
async fn a_run_on_a_managed_export_records_its_dataset_and_version() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    let arith = client.dataset::<Arith>();
    arith.ensure().await.unwrap();
    arith
        .add_cases(vec![
            datasets::Case::new(Question { q: "1+1".into() }).expected_output("2".into()),
            datasets::Case::new(Question { q: "2+2".into() }).expected_output("4".into()),
        ])
        .await
        .unwrap();
    let release = arith.list_versions().limit(1).await.unwrap()[0].version;
    arith.tag_version(release, "release-2026-12").await.unwrap();
    arith
        .add_cases(vec![
            datasets::Case::new(Question { q: "3+3".into() }).expected_output("6".into()),
        ])
        .await
        .unwrap();

    let dataset = arith.export().version("release-2026-12").await.unwrap();
    assert_eq!((dataset.cases.len(), dataset.version), (2, Some(release)));
    let report = dataset
        .evaluate(|q: Question| async move {
            match q.q.as_str() {
                "1+1" => "2".to_owned(),
                _ => "?".to_owned(),
            }
        })
        .evaluator(EqualsExpected::default())
        .await;
    assert_eq!(report.dataset_name.as_deref(), Some("arith"));
    assert_eq!(report.dataset_version, Some(release));
    let json: serde_json::Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
    assert_eq!(json["dataset_version"], release);
    // The head export records the head version.
    let head = arith.export().await.unwrap();
    assert_eq!(head.version, Some(release + 1));
    let diff = arith.diff("release-2026-12", release + 1).await.unwrap();
    assert_eq!(diff.len(), 1);
    assert_eq!(diff[0].change, CaseChange::Added);
}

#[test]
fn the_blocking_client_has_versions_too() {
    let server = EmbeddedServer::start().unwrap();
    let client = datasets::blocking::DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .unwrap();
    client.create_dataset("qa").send().unwrap();
    client
        .add_cases("qa", vec![named("a", "1", "1")])
        .send()
        .unwrap();
    client
        .add_cases("qa", vec![named("b", "2", "2")])
        .send()
        .unwrap();
    let versions = client.list_versions("qa").send().unwrap();
    assert_eq!(versions.len(), 3);
    assert_eq!(client.get_version("qa", 2).send().unwrap().added, 1);
    client.tag_version("qa", 2, "one-case").send().unwrap();
    let cases: Vec<_> = client
        .list_cases("qa")
        .version("one-case")
        .page_size(1)
        .iter()
        .map(|case| case.unwrap().name.unwrap())
        .collect();
    assert_eq!(cases, ["a"]);
    let diff = client.diff("qa", 1, 3).send().unwrap();
    assert_eq!(diff.len(), 2);
    assert_eq!(
        client
            .export_dataset("qa")
            .version(2)
            .send()
            .unwrap()
            .version,
        Some(2)
    );
}

#[test]
fn versions_are_refused_before_sending_to_logfire() {
    let client = datasets::DatasetsClient::new("pylf_v1_us_token").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for err in [
            client.export_dataset("qa").version(2).await.unwrap_err(),
            client.list_versions("qa").await.unwrap_err(),
            client.diff("qa", 1, 2).await.map(drop).unwrap_err(),
        ] {
            assert!(err.to_string().contains("datasets-server feature"), "{err}");
        }
    });
}

/// A write that leaves a case equal makes no case version and no dataset
/// version; a change moves the case's and the dataset's `updated_at`; the
/// counts of every version agree with its diff (on both stores: the
/// PostgreSQL leg runs this file again).
#[tokio::test]
async fn writes_that_change_nothing_make_no_version_and_counts_match_diffs() {
    use datasets::Patch;
    use datasets::wire::{CaseUpdate, OnConflict};

    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    client.create_dataset("he").await.unwrap();
    let code = "def f():\r\n\treturn 1  \n\n";
    let cases = vec![
        NewCase {
            tags: Some(vec!["x".into()]),
            ..named("a", code, "1")
        },
        named("b", "λ", "2"),
    ];
    let made = client.add_cases("he", cases.clone()).await.unwrap();
    let dataset = client.get_dataset("he").await.unwrap();
    assert_eq!(dataset.version, Some(2));
    assert!(
        dataset.updated_at > dataset.created_at,
        "the dataset moves with its cases"
    );

    // The same tags, the same values: nothing changes.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let same = client
        .update_case("he", made[0].id)
        .tags(["x"])
        .expected_output(json!("1"))
        .await
        .unwrap();
    assert_eq!(
        (same.version, same.updated_at),
        (made[0].version, made[0].updated_at)
    );
    let reimported = client
        .import_cases("he", cases.clone())
        .on_conflict(OnConflict::Update)
        .await
        .unwrap();
    assert_eq!(reimported.len(), 2);
    assert!(reimported.iter().all(|case| case.version == 1));
    let versions = client.list_versions("he").await.unwrap();
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert_eq!(
        client.get_dataset("he").await.unwrap().updated_at,
        dataset.updated_at
    );

    // One of two changed: one case version, one dataset version, counted once.
    let mut changed = cases.clone();
    changed[1].expected_output = Some(json!("two"));
    client
        .import_cases("he", changed)
        .on_conflict(OnConflict::Update)
        .await
        .unwrap();
    let after = client.get_case("he", made[1].id).await.unwrap();
    assert_eq!(after.version, 2);
    assert!(
        after.updated_at > after.created_at,
        "updated_at moves with an edit"
    );
    assert_eq!(client.get_case("he", made[0].id).await.unwrap().version, 1);
    let versions = client.list_versions("he").await.unwrap();
    assert_eq!((versions[0].version, versions[0].changed), (3, 1));
    let diff = client.diff("he", 2, 3).await.unwrap();
    assert_eq!(diff.len(), 1);
    assert_eq!(diff[0].fields, ["expected_output"]);
    assert!(client.get_dataset("he").await.unwrap().updated_at >= after.updated_at);

    // A link is content: setting it is a change the diff names.
    client
        .update_case("he", made[0].id)
        .body(CaseUpdate {
            source_trace_id: Patch::Set("0af7651916cd43dd8448eb211c80319c".into()),
            ..CaseUpdate::default()
        })
        .await
        .unwrap();
    let diff = client.diff("he", 3, 4).await.unwrap();
    assert_eq!(diff[0].fields, ["source_trace_id"]);
    // Deleting ids that name no case changes nothing either.
    let deleted = client
        .delete_cases("he")
        .ids([uuid::Uuid::now_v7()])
        .await
        .unwrap();
    assert_eq!(deleted, 0);
    assert_eq!(client.list_versions("he").await.unwrap().len(), 4);
}

/// Two cases of one name in one request are refused, the later one named
/// at its index, whether the request creates or upserts; nothing lands.
#[tokio::test]
async fn one_request_never_holds_two_cases_of_one_name() {
    use datasets::wire::{LocSegment, OnConflict};

    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    client.create_dataset("he").await.unwrap();
    let cases = vec![
        named("a", "1", "1"),
        named("b", "2", "2"),
        named("a", "3", "3"),
    ];
    for upsert in [false, true] {
        let err = if upsert {
            client
                .import_cases("he", cases.clone())
                .on_conflict(OnConflict::Update)
                .await
                .unwrap_err()
        } else {
            client.add_cases("he", cases.clone()).await.unwrap_err()
        };
        let issues = err.issues();
        assert_eq!(err.status(), Some(422), "{err}");
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(
            issues[0].loc,
            [
                LocSegment::from("body"),
                "cases".into(),
                2usize.into(),
                "name".into()
            ]
        );
        assert!(
            issues[0].msg.contains("case 0 of this request"),
            "{}",
            issues[0].msg
        );
    }
    assert!(client.list_cases("he").await.unwrap().is_empty());
    assert_eq!(client.list_versions("he").await.unwrap().len(), 1);
}
