//! Dataset versions against a model kept by the test: a sequence of writes
//! of every kind, then every version's export, listing (paged, by tag) and
//! schemas equal the model's state then, and every diff the model's diff;
//! tags; pagination at a past version while the head changes; gapless
//! versions under concurrent writers; retention. Over a real socket, on
//! the embedded server's store (SQLite, or PostgreSQL on that leg).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::http::Api;
use datasets_server::{EmbeddedServer, ServerConfig};
use reqwest::Method;
use serde_json::{Value, json};

/// A case as the model keeps it, in the order cases were created.
#[derive(Debug, Clone, PartialEq)]
struct Case {
    id: String,
    name: String,
    inputs: Value,
    expected_output: Value,
    metadata: Value,
    tags: Vec<String>,
}

/// The model: cases by creation order, and the metadata schema.
#[derive(Debug, Clone, Default, PartialEq)]
struct State {
    cases: BTreeMap<u64, Case>,
    metadata_schema: Value,
}

impl State {
    fn seq_of(&self, id: &str) -> u64 {
        *self
            .cases
            .iter()
            .find(|(_, case)| case.id == id)
            .unwrap_or_else(|| panic!("no case {id} in the model"))
            .0
    }

    fn by_name(&self, name: &str) -> Option<u64> {
        self.cases
            .iter()
            .find(|(_, case)| case.name == name)
            .map(|(seq, _)| *seq)
    }
}

struct Model {
    api: Api,
    state: State,
    /// `versions[v]` is the state at version `v`.
    versions: BTreeMap<u64, State>,
    next_seq: u64,
    next_name: u64,
}

fn case_from(value: &Value) -> Case {
    Case {
        id: value["id"].as_str().unwrap().to_owned(),
        name: value["name"].as_str().unwrap().to_owned(),
        inputs: value["inputs"].clone(),
        expected_output: value["expected_output"].clone(),
        metadata: value["metadata"].clone(),
        tags: serde_json::from_value(value["tags"].clone()).unwrap(),
    }
}

impl Model {
    async fn new(api: Api) -> Self {
        let created = api
            .post(
                "/v1/datasets/",
                json!({"name": "golden", "description": "d"}),
            )
            .await;
        assert_eq!(created["version"], 1, "a new dataset is at version 1");
        let mut model = Self {
            api,
            state: State {
                metadata_schema: Value::Null,
                ..State::default()
            },
            versions: BTreeMap::new(),
            next_seq: 0,
            next_name: 0,
        };
        model.versions.insert(1, model.state.clone());
        model
    }

    fn fresh_case(&mut self, salt: u64) -> Value {
        self.next_name += 1;
        let n = self.next_name;
        let tags: Vec<&str> = match n % 3 {
            0 => vec!["t0"],
            1 => vec!["t1", "t0"],
            _ => vec![],
        };
        json!({
            "name": format!("c{n}"),
            "inputs": {"q": format!("question {n}"), "salt": salt},
            "expected_output": {"a": n},
            "metadata": {"n": n},
            "tags": tags,
        })
    }

    fn add(&mut self, answer: &Value) {
        self.next_seq += 1;
        self.state.cases.insert(self.next_seq, case_from(answer));
    }

    /// The dataset's version as the server answers it.
    async fn head_version(&self) -> u64 {
        let (status, body) = self
            .api
            .send(Method::GET, "/v1/datasets/golden/", &[], None)
            .await;
        assert_eq!(status, 200, "{body}");
        body["version"].as_u64().unwrap()
    }

    /// After a write: one more version, holding the model's state.
    async fn committed(&mut self, what: &str) {
        let version = self.head_version().await;
        let expected = self.versions.keys().last().unwrap() + 1;
        assert_eq!(version, expected, "{what} made exactly one version");
        self.versions.insert(version, self.state.clone());
    }

    async fn bulk(&mut self, count: usize, salt: u64) {
        let cases: Vec<Value> = (0..count).map(|_| self.fresh_case(salt)).collect();
        let answer = self
            .api
            .post("/v1/datasets/golden/cases/bulk/", json!({"cases": cases}))
            .await;
        for case in answer.as_array().unwrap() {
            self.add(case);
        }
        self.committed("a bulk create").await;
    }

    async fn single(&mut self, salt: u64) {
        let case = self.fresh_case(salt);
        let answer = self.api.post("/v1/datasets/golden/cases/", case).await;
        self.add(&answer);
        self.committed("a single create").await;
    }

    /// An import that replaces the cases named `names` and adds one new case.
    async fn upsert(&mut self, names: &[String], salt: u64) {
        let mut cases: Vec<Value> = names
            .iter()
            .map(|name| {
                json!({"name": name, "inputs": {"q": format!("re {name}"), "salt": salt},
                       "expected_output": {"a": salt}})
            })
            .collect();
        cases.push(self.fresh_case(salt));
        let answer = self
            .api
            .post(
                "/v1/datasets/golden/import/?on_conflict=update",
                json!({"cases": cases}),
            )
            .await;
        for case in answer.as_array().unwrap() {
            let case = case_from(case);
            match self.state.by_name(&case.name) {
                Some(seq) => {
                    self.state.cases.insert(seq, case);
                }
                None => {
                    self.next_seq += 1;
                    self.state.cases.insert(self.next_seq, case);
                }
            }
        }
        self.committed("an import").await;
    }

    async fn patch(&mut self, id: &str, body: Value) {
        let (status, answer) = self
            .api
            .send(
                Method::PATCH,
                &format!("/v1/datasets/golden/cases/{id}/"),
                &[],
                Some(body),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        let seq = self.state.seq_of(id);
        self.state.cases.insert(seq, case_from(&answer));
        self.committed("an update").await;
    }

    async fn delete(&mut self, id: &str) {
        let (status, answer) = self
            .api
            .send(
                Method::DELETE,
                &format!("/v1/datasets/golden/cases/{id}/"),
                &[],
                None,
            )
            .await;
        assert_eq!(status, 204, "{answer}");
        let seq = self.state.seq_of(id);
        self.state.cases.remove(&seq);
        self.committed("a delete").await;
    }

    async fn delete_by_tag(&mut self, tag: &str) {
        let answer = self
            .api
            .post("/v1/datasets/golden/cases/delete/", json!({"tags": [tag]}))
            .await;
        let before = self.state.cases.len();
        self.state
            .cases
            .retain(|_, case| !case.tags.iter().any(|t| t == tag));
        assert_eq!(
            answer["deleted"].as_u64().unwrap() as usize,
            before - self.state.cases.len()
        );
        self.committed("a bulk delete by tag").await;
    }

    async fn delete_ids(&mut self, ids: &[String]) {
        self.api
            .post("/v1/datasets/golden/cases/delete/", json!({"ids": ids}))
            .await;
        self.state.cases.retain(|_, case| !ids.contains(&case.id));
        self.committed("a bulk delete by ids").await;
    }

    async fn set_metadata_schema(&mut self, schema: Value) {
        let (status, answer) = self
            .api
            .send(
                Method::PATCH,
                "/v1/datasets/golden/",
                &[],
                Some(json!({"metadata_schema": schema})),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        self.state.metadata_schema = schema;
        self.committed("a schema change").await;
    }

    fn ids(&self) -> Vec<String> {
        self.state.cases.values().map(|c| c.id.clone()).collect()
    }

    fn names(&self) -> Vec<String> {
        self.state.cases.values().map(|c| c.name.clone()).collect()
    }
}

/// The export of `golden` at `version`: its cases as (name, inputs,
/// expected output, metadata), and the `Dataset-Version` header.
async fn export_at(api: &Api, version: &str) -> (u16, Vec<Value>, Option<String>) {
    let (status, headers, body) = api
        .answer(
            Method::GET,
            &format!("/v1/datasets/golden/export/?version={version}"),
            &[],
            None,
        )
        .await;
    let cases = body["cases"]
        .as_array()
        .map(|cases| {
            cases
                .iter()
                .map(|c| json!([c["name"], c["inputs"], c["expected_output"], c["metadata"]]))
                .collect()
        })
        .unwrap_or_default();
    let header = headers
        .get("dataset-version")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, cases, header)
}

fn model_export(state: &State) -> Vec<Value> {
    state
        .cases
        .values()
        .map(|c| json!([c.name, c.inputs, c.expected_output, c.metadata]))
        .collect()
}

/// Every page of a listing of `golden` (with `query`), `limit` at a time.
async fn pages(api: &Api, query: &str, limit: usize) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/datasets/golden/cases/?{query}&limit={limit}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let (status, headers, body) = api.answer(Method::GET, &path, &[], None).await;
        assert_eq!(status, 200, "{path}: {body}");
        cases.extend(body.as_array().unwrap().iter().map(case_from));
        match headers.get("next-cursor") {
            Some(next) => cursor = Some(next.to_str().unwrap().to_owned()),
            None => return cases,
        }
    }
}

/// The model's diff from `a` to `b`: (case id, change, fields), in case order.
fn model_diff(a: &State, b: &State) -> Vec<(String, String, Vec<String>)> {
    let mut seqs: Vec<u64> = a.cases.keys().chain(b.cases.keys()).copied().collect();
    seqs.sort_unstable();
    seqs.dedup();
    seqs.into_iter()
        .filter_map(|seq| match (a.cases.get(&seq), b.cases.get(&seq)) {
            (None, Some(case)) => Some((case.id.clone(), "added".into(), vec![])),
            (Some(case), None) => Some((case.id.clone(), "removed".into(), vec![])),
            (Some(x), Some(y)) => {
                let mut fields = Vec::new();
                if x.name != y.name {
                    fields.push("name".to_owned());
                }
                if x.inputs != y.inputs {
                    fields.push("inputs".to_owned());
                }
                if x.expected_output != y.expected_output {
                    fields.push("expected_output".to_owned());
                }
                if x.metadata != y.metadata {
                    fields.push("metadata".to_owned());
                }
                if x.tags != y.tags {
                    fields.push("tags".to_owned());
                }
                (!fields.is_empty()).then(|| (y.id.clone(), "changed".into(), fields))
            }
            (None, None) => None,
        })
        .collect()
}

async fn server_diff(
    api: &Api,
    from: u64,
    to: u64,
    limit: Option<usize>,
) -> Vec<(String, String, Vec<String>)> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/datasets/golden/diff/?from={from}&to={to}");
        if let Some(limit) = limit {
            path.push_str(&format!("&limit={limit}"));
        }
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let (status, headers, body) = api.answer(Method::GET, &path, &[], None).await;
        assert_eq!(status, 200, "{path}: {body}");
        for item in body.as_array().unwrap() {
            items.push((
                item["case_id"].as_str().unwrap().to_owned(),
                item["change"].as_str().unwrap().to_owned(),
                serde_json::from_value(item["fields"].clone()).unwrap(),
            ));
        }
        match headers.get("next-cursor") {
            Some(next) if limit.is_some() => cursor = Some(next.to_str().unwrap().to_owned()),
            _ => return items,
        }
    }
}

/// A history with writes of every kind, kept in the model.
async fn history(model: &mut Model) {
    model.bulk(6, 1).await;
    model.single(2).await;
    model.bulk(4, 3).await;
    let names = model.names();
    model.upsert(&names[1..3], 4).await;
    let ids = model.ids();
    model
        .patch(
            &ids[0],
            json!({"expected_output": {"a": "fixed"}, "tags": ["t1", "new"]}),
        )
        .await;
    model.delete(&ids[4]).await;
    model.set_metadata_schema(json!({"type": "object"})).await;
    // A description alone is not a version.
    let (status, body) = model
        .api
        .send(
            Method::PATCH,
            "/v1/datasets/golden/",
            &[],
            Some(json!({"description": "only words"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        model.head_version().await,
        *model.versions.keys().last().unwrap(),
        "a description change is not a version"
    );
    model.delete_by_tag("t0").await;
    model.bulk(3, 5).await;
    let ids = model.ids();
    model.delete_ids(&[ids[0].clone(), ids[2].clone()]).await;
    let ids = model.ids();
    model
        .patch(
            &ids[1],
            json!({"inputs": {"q": "edited"}, "name": "renamed"}),
        )
        .await;
    // An update back to an earlier value: the state equals an older one.
    model.set_metadata_schema(Value::Null).await;
    model.single(6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_version_reads_back_as_the_model_had_it() {
    let server = EmbeddedServer::start().unwrap();
    let mut model = Model::new(Api::new(&server)).await;
    history(&mut model).await;
    let api = &model.api;
    let latest = *model.versions.keys().last().unwrap();
    assert_eq!(latest, 14, "a new dataset and 13 writes");

    for (version, state) in &model.versions {
        // The export, with its version in the header.
        let (status, cases, header) = export_at(api, &version.to_string()).await;
        assert_eq!(status, 200);
        assert_eq!(cases, model_export(state), "export at version {version}");
        assert_eq!(header.as_deref(), Some(version.to_string().as_str()));
        // The dataset's schemas and case count then.
        let (status, detail) = api
            .send(
                Method::GET,
                &format!("/v1/datasets/golden/?version={version}"),
                &[],
                None,
            )
            .await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["version"], *version);
        assert_eq!(
            detail["metadata_schema"], state.metadata_schema,
            "schema at {version}"
        );
        assert_eq!(
            detail["case_count"],
            state.cases.len(),
            "count at {version}"
        );
        // Paged, whole and by tag, exactly as the model had it.
        let listed = pages(api, &format!("version={version}"), 3).await;
        let expected: Vec<Case> = state.cases.values().cloned().collect();
        assert_eq!(listed, expected, "pages at version {version}");
        let tagged = pages(api, &format!("version={version}&tags=t1"), 2).await;
        let expected: Vec<Case> = state
            .cases
            .values()
            .filter(|c| c.tags.iter().any(|t| t == "t1"))
            .cloned()
            .collect();
        assert_eq!(tagged, expected, "tag t1 at version {version}");
        // One case at the version.
        if let Some(case) = state.cases.values().next() {
            let (status, body) = api
                .send(
                    Method::GET,
                    &format!("/v1/datasets/golden/cases/{}/?version={version}", case.id),
                    &[],
                    None,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(case_from(&body), *case);
        }
    }

    // Diffs between every pair, paged and streamed.
    let versions: Vec<u64> = model.versions.keys().copied().collect();
    for &a in &versions {
        for &b in versions
            .iter()
            .filter(|b| (**b + a) % 3 == 0 || **b == latest)
        {
            let expected = model_diff(&model.versions[&a], &model.versions[&b]);
            assert_eq!(
                server_diff(api, a, b, None).await,
                expected,
                "diff {a} → {b}"
            );
            assert_eq!(
                server_diff(api, a, b, Some(2)).await,
                expected,
                "paged diff {a} → {b}"
            );
        }
    }

    // The history itself.
    let (status, headers, list) = api
        .answer(
            Method::GET,
            "/v1/datasets/golden/versions/?limit=4",
            &[],
            None,
        )
        .await;
    assert_eq!(status, 200);
    let numbers: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (latest - 3..=latest).rev().collect::<Vec<_>>());
    // Paged to the end, every version once, newest first.
    let mut all = numbers.clone();
    let mut next = headers
        .get("next-cursor")
        .map(|v| v.to_str().unwrap().to_owned());
    let first_cursor = next.clone().unwrap();
    while let Some(cursor) = next {
        let (status, headers, page) = api
            .answer(
                Method::GET,
                &format!("/v1/datasets/golden/versions/?limit=4&cursor={cursor}"),
                &[],
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        all.extend(
            page.as_array()
                .unwrap()
                .iter()
                .map(|v| v["version"].as_u64().unwrap()),
        );
        next = headers
            .get("next-cursor")
            .map(|v| v.to_str().unwrap().to_owned());
    }
    assert_eq!(all, (1..=latest).rev().collect::<Vec<_>>());
    // A cursor of one dataset's versions is refused on another's.
    api.post("/v1/datasets/", json!({"name": "other"})).await;
    let (status, body) = api
        .send(
            Method::GET,
            &format!("/v1/datasets/other/versions/?cursor={first_cursor}"),
            &[],
            None,
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (_, first) = api
        .send(Method::GET, "/v1/datasets/golden/versions/1/", &[], None)
        .await;
    assert_eq!(first["version"], 1);
    assert_eq!(first["definition_changed"], true, "{first}");
    assert!(first["created_by"].is_string(), "{first}");
    let (_, second) = api
        .send(Method::GET, "/v1/datasets/golden/versions/2/", &[], None)
        .await;
    assert_eq!(
        (
            second["added"].as_u64(),
            second["changed"].as_u64(),
            second["removed"].as_u64()
        ),
        (Some(6), Some(0), Some(0))
    );
    assert!(second["created_by"].is_string(), "{second}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_name_versions_and_move() {
    let server = EmbeddedServer::start().unwrap();
    let mut model = Model::new(Api::new(&server)).await;
    model.bulk(3, 1).await;
    model.single(2).await;
    let api = &model.api;
    let (status, tagged) = api
        .send(
            Method::POST,
            "/v1/datasets/golden/versions/2/tags/",
            &[],
            Some(json!({"tag": "release-2026-12"})),
        )
        .await;
    assert_eq!(status, 200, "{tagged}");
    assert_eq!(tagged["tags"], json!(["release-2026-12"]));
    let (_, cases, header) = export_at(api, "release-2026-12").await;
    assert_eq!(cases, model_export(&model.versions[&2]));
    assert_eq!(header.as_deref(), Some("2"));
    // Tagging is not a version.
    assert_eq!(model.head_version().await, 3);

    // Posting the tag on another version moves it.
    let (status, _) = api
        .send(
            Method::POST,
            "/v1/datasets/golden/versions/3/tags/",
            &[],
            Some(json!({"tag": "release-2026-12"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, cases, _) = export_at(api, "release-2026-12").await;
    assert_eq!(cases, model_export(&model.versions[&3]));
    let (_, two) = api
        .send(Method::GET, "/v1/datasets/golden/versions/2/", &[], None)
        .await;
    assert_eq!(two["tags"], json!([]));
    // By tag in a path and a diff too.
    let (status, three) = api
        .send(
            Method::GET,
            "/v1/datasets/golden/versions/release-2026-12/",
            &[],
            None,
        )
        .await;
    assert_eq!((status, three["version"].as_u64()), (200, Some(3)));
    let (status, diff) = api
        .send(
            Method::GET,
            "/v1/datasets/golden/diff/?from=1&to=release-2026-12",
            &[],
            None,
        )
        .await;
    assert_eq!((status, diff.as_array().unwrap().len()), (200, 4));

    // Bad tags and unknown versions.
    for bad in ["2026", "", "a/b"] {
        let (status, body) = api
            .send(
                Method::POST,
                "/v1/datasets/golden/versions/2/tags/",
                &[],
                Some(json!({"tag": bad})),
            )
            .await;
        assert_eq!(status, 422, "{bad:?}: {body}");
        assert_eq!(body["detail"][0]["loc"], json!(["body", "tag"]));
    }
    for path in [
        "/v1/datasets/golden/export/?version=99",
        "/v1/datasets/golden/export/?version=no-such-tag",
        "/v1/datasets/golden/cases/?version=0",
        "/v1/datasets/golden/versions/99/",
        "/v1/datasets/golden/?as_of=2000-01-01T00:00:00Z",
    ] {
        let (status, body) = api.send(Method::GET, path, &[], None).await;
        assert_eq!(
            (status, body["detail"].as_str()),
            (404, Some("Version not found")),
            "{path}"
        );
    }
    let (status, body) = api
        .send(
            Method::GET,
            "/v1/datasets/golden/cases/?version=1&as_of=2030-01-01T00:00:00Z",
            &[],
            None,
        )
        .await;
    assert_eq!(status, 422, "{body}");

    // `as_of` now names the head; taking the tag off makes it unknown.
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (status, header, body) = api
        .answer(
            Method::GET,
            &format!("/v1/datasets/golden/export/?as_of={now}"),
            &[],
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header.get("dataset-version").unwrap(), "3");
    let (status, _) = api
        .send(
            Method::DELETE,
            "/v1/datasets/golden/versions/3/tags/release-2026-12/",
            &[],
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _, _) = export_at(api, "release-2026-12").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_past_version_pages_exactly_while_the_head_changes() {
    let server = EmbeddedServer::start().unwrap();
    let mut model = Model::new(Api::new(&server)).await;
    model.bulk(20, 1).await;
    let snapshot = model.versions[&2].clone();
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    let mut round = 0;
    loop {
        let mut path = "/v1/datasets/golden/cases/?version=2&limit=3".to_owned();
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let (status, headers, body) = model.api.answer(Method::GET, &path, &[], None).await;
        assert_eq!(status, 200, "{body}");
        listed.extend(body.as_array().unwrap().iter().map(case_from));
        // Between pages, the head changes every way it can.
        round += 1;
        let ids = model.ids();
        match round % 3 {
            0 => model.delete(&ids[0]).await,
            1 => {
                model
                    .patch(&ids[ids.len() - 1], json!({"inputs": {"q": round}}))
                    .await
            }
            _ => model.single(round).await,
        }
        match headers.get("next-cursor") {
            // A cursor alone goes on at its version.
            Some(next) => cursor = Some(next.to_str().unwrap().to_owned()),
            None => break,
        }
    }
    assert_eq!(listed, snapshot.cases.values().cloned().collect::<Vec<_>>());
    // A cursor at version 2 cannot continue another version's listing.
    let (_, headers, _) = model
        .api
        .answer(
            Method::GET,
            "/v1/datasets/golden/cases/?version=2&limit=3",
            &[],
            None,
        )
        .await;
    let cursor = headers.get("next-cursor").unwrap().to_str().unwrap();
    let (status, body) = model
        .api
        .send(
            Method::GET,
            &format!("/v1/datasets/golden/cases/?version=3&limit=3&cursor={cursor}"),
            &[],
            None,
        )
        .await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_make_gapless_versions_one_per_request() {
    let server = EmbeddedServer::start().unwrap();
    let api = Arc::new(Api::new(&server));
    api.post("/v1/datasets/", json!({"name": "golden"})).await;
    let seeded = api
        .post(
            "/v1/datasets/golden/cases/bulk/",
            json!({"cases": (0..8).map(|n| json!({"name": format!("s{n}"), "inputs": n})).collect::<Vec<_>>()}),
        )
        .await;
    let ids: Vec<String> = seeded
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    let writers = 4;
    let per_writer = 10;
    let mut tasks = Vec::new();
    for (w, id) in ids.iter().take(writers).cloned().enumerate() {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..per_writer {
                if n % 2 == 0 {
                    api.post(
                        "/v1/datasets/golden/cases/bulk/",
                        json!({"cases": [{"inputs": [w, n]}, {"inputs": [w, n, 1]}]}),
                    )
                    .await;
                } else {
                    let (status, body) = api
                        .send(
                            Method::PATCH,
                            &format!("/v1/datasets/golden/cases/{id}/"),
                            &[],
                            Some(json!({"inputs": [w, n]})),
                        )
                        .await;
                    assert_eq!(status, 200, "{body}");
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let requests = (writers * per_writer) as u64;
    let (_, detail) = api
        .send(Method::GET, "/v1/datasets/golden/", &[], None)
        .await;
    assert_eq!(detail["version"].as_u64(), Some(2 + requests));
    let (_, list) = api
        .send(
            Method::GET,
            "/v1/datasets/golden/versions/?limit=1000",
            &[],
            None,
        )
        .await;
    let list = list.as_array().unwrap();
    let numbers: Vec<u64> = list
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        (1..=2 + requests).rev().collect::<Vec<_>>(),
        "gapless"
    );
    let (mut bulks, mut updates) = (0, 0);
    for version in list.iter().filter(|v| v["version"].as_u64().unwrap() > 2) {
        match (version["added"].as_u64(), version["changed"].as_u64()) {
            (Some(2), Some(0)) => bulks += 1,
            (Some(0), Some(1)) => updates += 1,
            other => panic!("a version of one request made {other:?}: {version}"),
        }
    }
    assert_eq!((bulks, updates), (requests / 2, requests / 2));
    // And every version reads back with the count it recorded.
    for version in list {
        let n = version["version"].as_u64().unwrap();
        let (status, _, body) = api
            .answer(
                Method::GET,
                &format!("/v1/datasets/golden/export/?version={n}"),
                &[],
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            body["cases"].as_array().unwrap().len() as u64,
            version["case_count"].as_u64().unwrap(),
            "version {n}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_old_versions_but_never_a_tagged_one() {
    let server =
        EmbeddedServer::with_config(ServerConfig::default().keep_versions(Some(3))).unwrap();
    let mut model = Model::new(Api::new(&server)).await;
    model.bulk(4, 1).await;
    let (status, _) = model
        .api
        .send(
            Method::POST,
            "/v1/datasets/golden/versions/2/tags/",
            &[],
            Some(json!({"tag": "baseline"})),
        )
        .await;
    assert_eq!(status, 200);
    for round in 0..8 {
        let ids = model.ids();
        model
            .patch(&ids[round % ids.len()], json!({"inputs": {"round": round}}))
            .await;
        if round % 3 == 0 {
            model.single(round as u64).await;
        }
    }
    let latest = *model.versions.keys().last().unwrap();
    let (_, list) = model
        .api
        .send(Method::GET, "/v1/datasets/golden/versions/", &[], None)
        .await;
    let kept: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(kept, vec![latest, latest - 1, latest - 2, 2]);
    for version in [2, latest - 2, latest - 1, latest] {
        let (status, cases, _) = export_at(&model.api, &version.to_string()).await;
        assert_eq!(status, 200);
        assert_eq!(
            cases,
            model_export(&model.versions[&version]),
            "version {version}"
        );
    }
    let (_, cases, _) = export_at(&model.api, "baseline").await;
    assert_eq!(cases, model_export(&model.versions[&2]));
    for pruned in [1, 3, latest - 3] {
        let (status, _, _) = export_at(&model.api, &pruned.to_string()).await;
        assert_eq!(status, 404, "version {pruned} is pruned");
    }
    // Untagged, the baseline goes at the next write.
    let (status, _) = model
        .api
        .send(
            Method::DELETE,
            "/v1/datasets/golden/versions/2/tags/baseline/",
            &[],
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _, _) = export_at(&model.api, "2").await;
    assert_eq!(status, 404);
    // Deleting the dataset deletes its history.
    let (status, _) = model
        .api
        .send(Method::DELETE, "/v1/datasets/golden/", &[], None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = model
        .api
        .send(Method::GET, "/v1/datasets/golden/versions/", &[], None)
        .await;
    assert_eq!(status, 404);
}

/// A diff over versions that made many cases walks the cases in order
/// rather than sorting what the version index finds: every case once, in
/// order, over pages, with the changes of a later version beside them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diff_over_a_large_import_holds_every_case_once_in_order() {
    let server = EmbeddedServer::start().unwrap();
    let api = Api::new(&server);
    api.post("/v1/datasets/", json!({"name": "golden"})).await;
    let total = 60_000;
    let mut ids = Vec::with_capacity(total);
    for chunk in 0..6 {
        let cases: Vec<Value> = (0..total / 6)
            .map(|i| json!({"inputs": chunk * 100_000 + i}))
            .collect();
        let made = api
            .post("/v1/datasets/golden/cases/bulk/", json!({ "cases": cases }))
            .await;
        ids.extend(
            made.as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned()),
        );
    }
    // Version 8 deletes one case of the first chunk.
    let (status, _) = api
        .send(
            Method::POST,
            "/v1/datasets/golden/cases/delete/",
            &[],
            Some(json!({"ids": [ids[10]]})),
        )
        .await;
    assert_eq!(status, 200);
    let items = server_diff(&api, 1, 8, Some(10_000)).await;
    assert_eq!(items.len(), total - 1);
    let mut expected: Vec<String> = ids.clone();
    expected.remove(10);
    let got: Vec<String> = items.iter().map(|(id, _, _)| id.clone()).collect();
    assert_eq!(got, expected, "every case once, in order");
    assert!(items.iter().all(|(_, change, _)| change == "added"));
    // Streamed whole, the same.
    assert_eq!(server_diff(&api, 1, 8, None).await, items);
    // And from the middle of the import: the later chunks added, one removed.
    let later = server_diff(&api, 4, 8, Some(5_000)).await;
    assert_eq!(later.len(), total / 2 + 1);
    assert_eq!(later[0], (ids[10].clone(), "removed".to_owned(), vec![]));
}
