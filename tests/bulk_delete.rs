//! Bulk deletion (`POST .../cases/delete/`, an addition to the protocol):
//! by ids or by tags, in one transaction, idempotent, through the async,
//! blocking and typed clients against the real server.

mod support;

use datasets::wire::NewCase;
use datasets::{DatasetSchema, DatasetsClient, EmbeddedServer, Error};
use datasets_server::auth::Scopes;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use support::client;

fn tagged(name: &str, tags: &[&str]) -> NewCase {
    NewCase {
        name: Some(name.to_owned()),
        tags: Some(tags.iter().map(|t| (*t).to_owned()).collect()),
        ..NewCase::new(json!({"q": name}))
    }
}

async fn seeded(client: &DatasetsClient) -> Vec<uuid::Uuid> {
    client.create_dataset("qa").await.unwrap();
    let cases = client
        .add_cases(
            "qa",
            vec![
                tagged("a", &["draft"]),
                tagged("b", &["draft", "geo"]),
                tagged("c", &["geo"]),
                tagged("d", &[]),
                tagged("e", &["keep"]),
            ],
        )
        .await
        .unwrap();
    cases.into_iter().map(|case| case.id).collect()
}

async fn names(client: &DatasetsClient) -> Vec<String> {
    client
        .list_cases("qa")
        .await
        .unwrap()
        .into_iter()
        .filter_map(|case| case.name)
        .collect()
}

#[tokio::test]
async fn cases_are_deleted_by_tags_or_ids_in_one_request() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    let ids = seeded(&client).await;
    // Tags match any: `draft` or `geo` takes a, b and c.
    let deleted = client
        .delete_cases("qa")
        .tags(["draft", "geo"])
        .await
        .unwrap();
    assert_eq!(deleted, 3);
    assert_eq!(names(&client).await, ["d", "e"]);
    // Ids: unknown and already deleted ones are ignored.
    let deleted = client
        .delete_cases("qa")
        .ids([ids[0], ids[3], uuid::Uuid::new_v4()])
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(names(&client).await, ["e"]);
    assert_eq!(client.get_dataset("qa").await.unwrap().case_count, 1);
}

#[tokio::test]
async fn a_bad_selector_is_refused_before_or_by_the_server_and_deletes_nothing() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    let ids = seeded(&client).await;
    // The client refuses what can never be right.
    let none = client.delete_cases("qa").await.unwrap_err();
    assert!(matches!(none, Error::InvalidArgument(_)), "{none:?}");
    let both = client
        .delete_cases("qa")
        .ids([ids[0]])
        .tags(["geo"])
        .await
        .unwrap_err();
    assert!(matches!(both, Error::InvalidArgument(_)), "{both:?}");
    // The server refuses what a client sends wrong, naming where.
    let http = reqwest::Client::new();
    let post = |body: serde_json::Value| {
        http.post(format!(
            "{}/v1/datasets/qa/cases/delete/",
            server.base_url()
        ))
        .bearer_auth(server.api_key())
        .json(&body)
        .send()
    };
    for (body, loc) in [
        (json!({}), json!(["body"])),
        (json!({"ids": []}), json!(["body"])),
        (json!({"ids": [ids[0]], "tags": ["geo"]}), json!(["body"])),
        (json!({"ids": [ids[0], "nope"]}), json!(["body", "ids", 1])),
        (json!({"tags": ["ok", ""]}), json!(["body", "tags", 1])),
    ] {
        let answer = post(body.clone()).await.unwrap();
        assert_eq!(answer.status(), 422, "{body}");
        let detail: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(detail["detail"][0]["loc"], loc, "{body}: {detail}");
    }
    let answer = post(json!({"ids": [ids[0]], "all": true})).await.unwrap();
    assert_eq!(answer.status(), 400, "unknown fields are refused");
    assert_eq!(names(&client).await.len(), 5);
    // Another project's dataset is not there; a read-only key may not delete.
    let other = server.create_key("other", Scopes::READ_WRITE).unwrap();
    let answer = http
        .post(format!(
            "{}/v1/datasets/qa/cases/delete/",
            server.base_url()
        ))
        .bearer_auth(&other)
        .json(&json!({"tags": ["geo"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
    let reader = server.create_key("default", Scopes::READ_ONLY).unwrap();
    let answer = http
        .post(format!(
            "{}/v1/datasets/qa/cases/delete/",
            server.base_url()
        ))
        .bearer_auth(&reader)
        .json(&json!({"tags": ["geo"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
    assert_eq!(names(&client).await.len(), 5);
}

#[tokio::test]
async fn a_repeated_deletion_with_its_idempotency_key_answers_the_first_count() {
    let server = EmbeddedServer::start().unwrap();
    let client = client(&server);
    seeded(&client).await;
    let http = reqwest::Client::new();
    let send = |tags: serde_json::Value| {
        http.post(format!(
            "{}/v1/datasets/qa/cases/delete/",
            server.base_url()
        ))
        .bearer_auth(server.api_key())
        .header("Idempotency-Key", "delete-drafts-1")
        .json(&json!({ "tags": tags }))
        .send()
    };
    let first = send(json!(["draft"])).await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(
        first.json::<serde_json::Value>().await.unwrap(),
        json!({"deleted": 2})
    );
    // New cases with the tag arrive; the repeat deletes nothing more.
    client
        .add_case("qa", tagged("late", &["draft"]))
        .await
        .unwrap();
    let again = send(json!(["draft"])).await.unwrap();
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );
    assert_eq!(
        again.json::<serde_json::Value>().await.unwrap(),
        json!({"deleted": 2})
    );
    assert!(names(&client).await.contains(&"late".to_owned()));
    // The same key with another body is refused.
    let other = send(json!(["geo"])).await.unwrap();
    assert_eq!(other.status(), 422);
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct Question {
    q: String,
}

#[derive(DatasetSchema)]
#[dataset(name = "qa")]
#[allow(dead_code)]
struct Qa {
    inputs: Question,
}

#[test]
fn the_blocking_and_typed_clients_delete_too() {
    let server = EmbeddedServer::start().unwrap();
    let client = datasets::blocking::DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .unwrap();
    client.create_dataset("qa").send().unwrap();
    let made = client
        .add_cases(
            "qa",
            vec![
                tagged("a", &["x"]),
                tagged("b", &["y"]),
                tagged("c", &["y"]),
            ],
        )
        .send()
        .unwrap();
    assert_eq!(
        client.delete_cases("qa").ids([made[0].id]).send().unwrap(),
        1
    );
    let typed = client.dataset::<Qa>();
    assert_eq!(typed.delete_cases().tags(["y"]).send().unwrap(), 2);
    assert!(typed.list_cases().send().unwrap().is_empty());
}
