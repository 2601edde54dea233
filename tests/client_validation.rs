//! Typed handles check cases against the dataset's generated schemas (and
//! the server's limits) before sending them: the same 422, with the same
//! issues, as the server gives, and nothing sent. Proven against the real
//! server through the recording proxy, with client validation on and off.

mod support;

use datasets::{Case, DatasetSchema, DatasetsClient, EmbeddedServer, Error};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use support::Proxy;

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct Question {
    #[schemars(length(min = 1))]
    question: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct Answer {
    answer: String,
    #[schemars(range(min = 0.0, max = 1.0))]
    confidence: f64,
}

#[derive(DatasetSchema)]
#[dataset(name = "checked")]
#[allow(dead_code)]
struct Checked {
    inputs: Question,
    expected_output: Answer,
}

fn case(question: &str, confidence: f64) -> Case<Question, Answer, serde_json::Value> {
    Case::new(Question {
        question: question.into(),
    })
    .expected_output(Answer {
        answer: "a".into(),
        confidence,
    })
}

fn client_through(proxy: &Proxy, server: &EmbeddedServer, validate: bool) -> DatasetsClient {
    DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(proxy.base_url())
        .validate_cases(validate)
        .build()
        .unwrap()
}

/// The error's status and issues, to compare a client's refusal with a server's.
fn refusal(err: &Error) -> (Option<u16>, Vec<(String, String, String)>) {
    let issues = err
        .issues()
        .into_iter()
        .map(|issue| {
            let loc: Vec<String> = issue.loc.iter().map(ToString::to_string).collect();
            (loc.join("."), issue.msg, issue.kind)
        })
        .collect();
    (err.status(), issues)
}

#[tokio::test]
async fn an_invalid_case_fails_in_the_client_as_the_server_would_fail_it() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = Proxy::start(&server.base_url());
    let checking = client_through(&proxy, &server, true);
    let trusting = client_through(&proxy, &server, false);
    checking.dataset::<Checked>().ensure().await.unwrap();
    proxy.take_log();

    // One case: refused by the client, nothing sent.
    let ours = checking
        .dataset::<Checked>()
        .add_case(case("What?", 1.5))
        .await
        .unwrap_err();
    assert!(proxy.take_log().is_empty(), "nothing was sent");
    // The server, asked the same, says the same.
    let theirs = trusting
        .dataset::<Checked>()
        .add_case(case("What?", 1.5))
        .await
        .unwrap_err();
    assert_eq!(proxy.take_log().len(), 1);
    assert_eq!(refusal(&ours), refusal(&theirs));
    let (status, issues) = refusal(&ours);
    assert_eq!(status, Some(422));
    assert_eq!(issues[0].0, "body.expected_output.confidence");

    // Labels follow the server's limits too.
    let ours = checking
        .dataset::<Checked>()
        .add_case(case("What?", 0.5))
        .tags(["bad\u{7}tag"])
        .await
        .unwrap_err();
    let theirs = trusting
        .dataset::<Checked>()
        .add_case(case("What?", 0.5))
        .tags(["bad\u{7}tag"])
        .await
        .unwrap_err();
    assert_eq!(refusal(&ours), refusal(&theirs));
    assert_eq!(checking.get_dataset("checked").await.unwrap().case_count, 0);
}

#[tokio::test]
async fn a_bulk_of_100000_fails_in_the_client_naming_the_index_in_the_callers_list() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = Proxy::start(&server.base_url());
    let checking = client_through(&proxy, &server, true);
    checking.dataset::<Checked>().ensure().await.unwrap();
    proxy.take_log();
    let mut cases: Vec<_> = (0..100_000).map(|i| case(&format!("q{i}"), 0.5)).collect();
    cases[99_998] = case("", 0.5);
    cases[99_999] = case("last", -0.1);
    let err = checking
        .dataset::<Checked>()
        .add_cases(cases)
        .await
        .unwrap_err();
    assert!(proxy.take_log().is_empty(), "no round trip");
    let (status, issues) = refusal(&err);
    assert_eq!(status, Some(422));
    let locs: Vec<&str> = issues.iter().map(|(loc, ..)| loc.as_str()).collect();
    assert_eq!(
        locs,
        [
            "body.cases.99998.inputs.question",
            "body.cases.99999.expected_output.confidence"
        ]
    );
}

#[tokio::test]
async fn updates_and_pushes_are_checked_too_and_valid_cases_go_through() {
    let server = EmbeddedServer::start().unwrap();
    let proxy = Proxy::start(&server.base_url());
    let checking = client_through(&proxy, &server, true);
    let qa = checking.dataset::<Checked>();
    qa.ensure().await.unwrap();
    let stored = qa.add_case(case("fine", 0.5)).await.unwrap();
    proxy.take_log();
    let err = qa
        .update_case(stored.id)
        .expected_output(Answer {
            answer: "a".into(),
            confidence: 7.0,
        })
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&err).1[0].0,
        "body.expected_output.confidence",
        "{err}"
    );
    let local = datasets::eval::Dataset::new("checked", vec![case("ok", 0.2), case("no", 2.0)]);
    let err = qa.push(&local).await.unwrap_err();
    assert_eq!(
        refusal(&err).1[0].0,
        "body.cases.1.expected_output.confidence"
    );
    assert!(proxy.take_log().is_empty(), "nothing was sent");
    let updated = qa
        .update_case(stored.id)
        .expected_output(Answer {
            answer: "b".into(),
            confidence: 1.0,
        })
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
}
