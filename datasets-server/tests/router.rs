//! Router-level tests: every route and status code of API.md, through
//! `tower::ServiceExt::oneshot` on the real router over a real SQLite file.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{TestApp, locs, qa_case, qa_dataset, question_schema};
use datasets_core::wire::{CaseDetail, DatasetDetail, DatasetSummary, ExportedDataset};
use datasets_server::ServerConfig;
use datasets_server::auth::Scopes;
use serde_json::{Value, json};

// ---------------------------------------------------------------- auth

#[tokio::test]
async fn health_needs_no_key() {
    let app = TestApp::new().await;
    let (status, body) = app.call_with(Method::GET, "/health", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok"}));
}

#[tokio::test]
async fn missing_malformed_and_unknown_keys_are_401() {
    let app = TestApp::new().await;
    let (status, body) = app
        .call_with(Method::GET, "/v1/datasets/", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["detail"].is_string(), "{body}");
    for key in ["", "dsk_unknown", &app.key[..app.key.len() - 1]] {
        let (status, body) = app.call_as(key, Method::GET, "/v1/datasets/", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{key:?}");
        assert!(
            !body.to_string().contains(key) || key.is_empty(),
            "the key is never echoed"
        );
    }
    // A scheme other than Bearer.
    let request = axum::http::Request::builder()
        .uri("/v1/datasets/")
        .header("authorization", format!("Basic {}", app.key))
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.router.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn revoked_keys_stop_working_on_the_next_request() {
    let app = TestApp::new().await;
    let (record, key) = app
        .state
        .create_key("alpha", Scopes::READ_WRITE, None)
        .await
        .unwrap();
    assert_eq!(
        app.call_as(&key, Method::GET, "/v1/datasets/", None)
            .await
            .0,
        StatusCode::OK
    );
    assert!(app.state.store.revoke_key(record.id).await.unwrap());
    assert_eq!(
        app.call_as(&key, Method::GET, "/v1/datasets/", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn read_only_keys_get_403_on_every_write() {
    let app = TestApp::new().await;
    app.create_dataset(qa_dataset("qa")).await;
    let (_, case) = app.post("/v1/datasets/qa/cases/", qa_case("c1")).await;
    let case_path = format!("/v1/datasets/qa/cases/{}/", case["id"].as_str().unwrap());
    let (status, experiment) = app
        .post("/v1/experiments/", json!({"name": "run", "dataset": "qa"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{experiment}");
    let experiment_path = format!("/v1/experiments/{}/", experiment["id"].as_str().unwrap());
    let reader = app.key("alpha", Scopes::READ_ONLY).await;
    let writes = [
        (
            Method::POST,
            "/v1/experiments/".to_owned(),
            json!({"name": "run"}),
        ),
        (Method::DELETE, experiment_path.clone(), Value::Null),
        (Method::POST, "/v1/traces".to_owned(), json!({})),
        (
            Method::POST,
            "/v1/datasets/".to_owned(),
            json!({"name": "x"}),
        ),
        (Method::PUT, "/v1/datasets/qa/".to_owned(), json!({})),
        (Method::PATCH, "/v1/datasets/qa/".to_owned(), json!({})),
        (Method::DELETE, "/v1/datasets/qa/".to_owned(), Value::Null),
        (
            Method::POST,
            "/v1/datasets/qa/cases/".to_owned(),
            qa_case("c2"),
        ),
        (
            Method::POST,
            "/v1/datasets/qa/cases/bulk/".to_owned(),
            json!({"cases": []}),
        ),
        (
            Method::POST,
            "/v1/datasets/qa/import/".to_owned(),
            json!({"cases": []}),
        ),
        (Method::PUT, case_path.clone(), json!({})),
        (Method::PATCH, case_path.clone(), json!({})),
        (Method::DELETE, case_path.clone(), Value::Null),
        (
            Method::POST,
            "/v1/datasets/qa/versions/2/tags/".to_owned(),
            json!({"tag": "release"}),
        ),
        (
            Method::DELETE,
            "/v1/datasets/qa/versions/2/tags/release/".to_owned(),
            Value::Null,
        ),
    ];
    for (method, path, body) in writes {
        let (status, body) = app
            .call_as(&reader, method.clone(), &path, Some(body))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("project:write_datasets")
        );
    }
    for path in [
        "/v1/datasets/",
        "/v1/datasets/qa/",
        "/v1/datasets/qa/cases/",
        &case_path,
        "/v1/datasets/qa/export/",
        "/v1/datasets/qa/versions/",
        "/v1/datasets/qa/versions/2/",
        "/v1/datasets/qa/diff/?from=1&to=2",
        "/v1/datasets/qa/export/?version=1",
        "/v1/experiments/",
        &experiment_path,
        &format!(
            "/v1/experiments/compare/?base={0}&candidate={0}",
            experiment["id"].as_str().unwrap()
        ),
        "/v1/info",
    ] {
        assert_eq!(
            app.call_as(&reader, Method::GET, path, None).await.0,
            StatusCode::OK,
            "{path}"
        );
    }
    assert_eq!(app.case_count("qa").await, 1, "nothing was written");
    let (_, listed) = app
        .call_as(&reader, Method::GET, "/v1/experiments/", None)
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "nothing was written");
}

#[tokio::test]
async fn another_projects_dataset_is_404_by_name_and_by_id() {
    let app = TestApp::new().await;
    let dataset = app.create_dataset(qa_dataset("secret")).await;
    let id = dataset["id"].as_str().unwrap();
    let (_, case) = app.post("/v1/datasets/secret/cases/", qa_case("c1")).await;
    let case_id = case["id"].as_str().unwrap();
    let other = app.key("beta", Scopes::READ_WRITE).await;
    for reference in ["secret", id] {
        let requests = [
            (Method::GET, format!("/v1/datasets/{reference}/"), None),
            (
                Method::PATCH,
                format!("/v1/datasets/{reference}/"),
                Some(json!({"description": "x"})),
            ),
            (Method::DELETE, format!("/v1/datasets/{reference}/"), None),
            (
                Method::GET,
                format!("/v1/datasets/{reference}/cases/"),
                None,
            ),
            (
                Method::POST,
                format!("/v1/datasets/{reference}/cases/"),
                Some(qa_case("c2")),
            ),
            (
                Method::POST,
                format!("/v1/datasets/{reference}/cases/bulk/"),
                Some(json!({"cases": [qa_case("c3")]})),
            ),
            (
                Method::GET,
                format!("/v1/datasets/{reference}/versions/"),
                None,
            ),
            (
                Method::GET,
                format!("/v1/datasets/{reference}/versions/1/"),
                None,
            ),
            (
                Method::POST,
                format!("/v1/datasets/{reference}/versions/1/tags/"),
                Some(json!({"tag": "mine"})),
            ),
            (
                Method::GET,
                format!("/v1/datasets/{reference}/diff/?from=1&to=2"),
                None,
            ),
            (
                Method::GET,
                format!("/v1/datasets/{reference}/export/?version=1"),
                None,
            ),
            (
                Method::GET,
                format!("/v1/datasets/{reference}/cases/{case_id}/"),
                None,
            ),
            (
                Method::PATCH,
                format!("/v1/datasets/{reference}/cases/{case_id}/"),
                Some(json!({"name": "y"})),
            ),
            (
                Method::DELETE,
                format!("/v1/datasets/{reference}/cases/{case_id}/"),
                None,
            ),
            (
                Method::POST,
                format!("/v1/datasets/{reference}/import/"),
                Some(json!({"cases": [qa_case("c4")]})),
            ),
            (
                Method::GET,
                format!("/v1/datasets/{reference}/export/"),
                None,
            ),
        ];
        for (method, path, body) in requests {
            let (status, body) = app.call_as(&other, method.clone(), &path, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_eq!(
                body,
                json!({"detail": "Dataset not found"}),
                "{method} {path}"
            );
        }
    }
    let (_, listed) = app
        .call_as(&other, Method::GET, "/v1/datasets/", None)
        .await;
    assert_eq!(listed, json!([]));
    // Experiments: another project cannot name the dataset, nor see a run.
    let (status, body) = app
        .call_as(
            &other,
            Method::POST,
            "/v1/experiments/",
            Some(json!({"name": "run", "dataset": id})),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "Dataset not found"})
        )
    );
    let (status, run) = app
        .post(
            "/v1/experiments/",
            json!({"name": "run", "dataset": "secret"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let run = run["id"].as_str().unwrap();
    for (method, path) in [
        (Method::GET, format!("/v1/experiments/{run}/")),
        (Method::DELETE, format!("/v1/experiments/{run}/")),
        (
            Method::GET,
            format!("/v1/experiments/compare/?base={run}&candidate={run}"),
        ),
    ] {
        let (status, body) = app.call_as(&other, method.clone(), &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(
            body,
            json!({"detail": "Experiment not found"}),
            "{method} {path}"
        );
    }
    let (_, listed) = app
        .call_as(&other, Method::GET, "/v1/experiments/", None)
        .await;
    assert_eq!(listed, json!([]));
    // Names are unique per project, not globally.
    let (status, _) = app
        .call_as(
            &other,
            Method::POST,
            "/v1/datasets/",
            Some(json!({"name": "secret"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        app.case_count("secret").await,
        1,
        "the owner's data is untouched"
    );
}

// ---------------------------------------------------------------- datasets

#[tokio::test]
async fn create_get_and_list_datasets() {
    let app = TestApp::new().await;
    let created = app.create_dataset(qa_dataset("qa-golden-set")).await;
    let detail: DatasetDetail = serde_json::from_value(created.clone()).unwrap();
    assert_eq!(detail.name, "qa-golden-set");
    assert_eq!(detail.case_count, 0);
    assert_eq!(detail.input_schema, Some(question_schema()));
    assert!(!detail.ai_managed_guidance);
    assert!(created["created_by"].is_string());
    for key in [
        "id",
        "project_id",
        "name",
        "description",
        "guidance",
        "ai_managed_guidance",
        "input_schema",
        "output_schema",
        "metadata_schema",
        "evaluators",
        "report_evaluators",
        "case_count",
        "created_at",
        "updated_at",
        "created_by",
    ] {
        assert!(created.get(key).is_some(), "dataset detail lacks {key}");
    }
    let by_id = app.get(&format!("/v1/datasets/{}/", detail.id)).await;
    let by_name = app.get("/v1/datasets/qa-golden-set").await;
    assert_eq!(by_id, (StatusCode::OK, created.clone()));
    assert_eq!(by_name, (StatusCode::OK, created.clone()));

    app.create_dataset(json!({"name": "another"})).await;
    let (status, list) = app.get("/v1/datasets").await;
    assert_eq!(status, StatusCode::OK);
    let summaries: Vec<DatasetSummary> = serde_json::from_value(list.clone()).unwrap();
    assert_eq!(
        summaries
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["another", "qa-golden-set"]
    );
    for key in [
        "id",
        "project_id",
        "name",
        "description",
        "guidance",
        "ai_managed_guidance",
        "case_count",
        "created_at",
        "updated_at",
        "created_by_name",
        "updated_by_name",
    ] {
        assert!(list[0].get(key).is_some(), "summary lacks {key}");
    }
}

#[tokio::test]
async fn dataset_name_conflicts_are_409() {
    let app = TestApp::new().await;
    app.create_dataset(json!({"name": "qa"})).await;
    let (status, body) = app.post("/v1/datasets/", json!({"name": "qa"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("qa"));
    app.create_dataset(json!({"name": "other"})).await;
    let (status, _) = app
        .call(
            Method::PATCH,
            "/v1/datasets/other/",
            Some(json!({"name": "qa"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn bad_names_and_schemas_are_422_with_their_location() {
    let app = TestApp::new().await;
    for name in ["", "-dash", "has space", "a/b", "ü", &"x".repeat(256)] {
        let (status, body) = app.post("/v1/datasets/", json!({"name": name})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}: {body}");
        assert_eq!(locs(&body), ["body.name"], "{name:?}");
    }
    let (status, body) = app
        .post(
            "/v1/datasets/",
            json!({"name": "s", "input_schema": {"type": "strin"}, "metadata_schema": "not a schema"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(locs(&body), ["body.input_schema", "body.metadata_schema"]);
    assert_eq!(body["detail"][0]["type"], "invalid_schema");
    let (status, body) = app
        .post(
            "/v1/datasets/",
            json!({"name": "s", "input_schema": {"$ref": "https://example.com/s.json"}}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "remote refs are refused: {body}"
    );
    let (status, _) = app.get("/v1/datasets/s/").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing was created");
}

#[tokio::test]
async fn bodies_that_are_not_json_or_not_the_shape_are_400() {
    let app = TestApp::new().await;
    let (status, body) = app
        .call_with(
            Method::POST,
            "/v1/datasets/",
            Some(&app.key),
            Some(Body::from("{not json")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"][0]["type"], "json_invalid", "{body}");
    let (status, body) = app
        .post("/v1/datasets/", json!({"description": "no name"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"][0]["type"], "missing", "{body}");
    let (status, body) = app.post("/v1/datasets/", json!({"name": 5})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(locs(&body), ["body.name"]);
    app.create_dataset(json!({"name": "qa"})).await;
    let (status, body) = app
        .post(
            "/v1/datasets/qa/cases/bulk/",
            json!({"cases": [{"inputs": 1}, {"name": "no inputs"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(locs(&body), ["body.cases.1"], "{body}");
    assert!(
        body["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("inputs")
    );
}

#[tokio::test]
async fn put_and_patch_update_partially() {
    let app = TestApp::new().await;
    app.create_dataset(qa_dataset("qa")).await;
    for method in [Method::PUT, Method::PATCH] {
        let (status, body) = app
            .call(
                method.clone(),
                "/v1/datasets/qa/",
                Some(json!({"description": format!("by {method}")})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["description"], format!("by {method}"));
        assert_eq!(
            body["guidance"],
            qa_dataset("qa")["guidance"],
            "absent keys are left as is"
        );
        assert_eq!(body["input_schema"], question_schema());
    }
    let (_, body) = app
        .call(
            Method::PATCH,
            "/v1/datasets/qa",
            Some(
                json!({"guidance": null, "output_schema": null, "ai_managed_guidance": true,
                        "evaluators": [{"name": "EqualsExpected", "arguments": null}]}),
            ),
        )
        .await;
    assert_eq!(body["guidance"], Value::Null, "null clears");
    assert_eq!(body["output_schema"], Value::Null);
    assert_eq!(body["ai_managed_guidance"], true);
    assert_eq!(
        body["evaluators"],
        json!([{"name": "EqualsExpected", "arguments": null}])
    );
    assert_eq!(body["description"], "by PATCH");
    let (status, body) = app
        .call(
            Method::PATCH,
            "/v1/datasets/qa/",
            Some(json!({"name": "qa-renamed"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "qa-renamed");
    assert_eq!(app.get("/v1/datasets/qa/").await.0, StatusCode::NOT_FOUND);
    let (status, body) = app
        .call(
            Method::PATCH,
            "/v1/datasets/qa-renamed/",
            Some(json!({"name": null})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(locs(&body), ["body.name"]);
    let (status, _) = app
        .call(Method::PATCH, "/v1/datasets/missing/", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_schema_change_rechecks_existing_cases() {
    let app = TestApp::new().await;
    app.create_dataset(json!({"name": "qa"})).await;
    let mut cases: Vec<Value> = (0..25)
        .map(|i| json!({"name": format!("n{i}"), "inputs": {"question": i}}))
        .collect();
    cases.push(json!({"name": "ok", "inputs": {"question": "fine"}}));
    let (status, _) = app
        .post("/v1/datasets/qa/cases/bulk/", json!({"cases": cases}))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, body) = app
        .call(
            Method::PATCH,
            "/v1/datasets/qa/",
            Some(json!({"input_schema": question_schema()})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let detail = body["detail"].as_array().unwrap();
    assert!(
        detail[0]["msg"]
            .as_str()
            .unwrap()
            .contains("reject 25 existing case(s); 20 listed"),
        "{body}"
    );
    assert_eq!(detail.len(), 21, "a summary and the first 20 cases");
    assert!(
        detail[1]["msg"].as_str().unwrap().contains("\"n0\""),
        "{}",
        detail[1]
    );
    assert_eq!(locs(&body)[1], "body.input_schema");
    let (_, dataset) = app.get("/v1/datasets/qa/").await;
    assert_eq!(
        dataset["input_schema"],
        Value::Null,
        "the change was not applied"
    );

    // Once the offending cases are gone the change goes through, and from
    // then on writes are checked against the new schema.
    let (_, listed) = app.get("/v1/datasets/qa/cases/").await;
    for case in listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] != "ok")
    {
        let path = format!("/v1/datasets/qa/cases/{}/", case["id"].as_str().unwrap());
        assert_eq!(
            app.call(Method::DELETE, &path, None).await.0,
            StatusCode::NO_CONTENT
        );
    }
    let (status, _) = app
        .call(
            Method::PATCH,
            "/v1/datasets/qa/",
            Some(json!({"input_schema": question_schema()})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .post("/v1/datasets/qa/cases/", json!({"inputs": {"question": 1}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.case_count("qa").await, 1);
}

#[tokio::test]
async fn deleting_a_dataset_takes_its_cases() {
    let app = TestApp::new().await;
    let dataset = app.create_dataset(qa_dataset("qa")).await;
    let (_, case) = app.post("/v1/datasets/qa/cases/", qa_case("c")).await;
    let (status, body) = app.call(Method::DELETE, "/v1/datasets/qa/", None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    assert_eq!(app.get("/v1/datasets/qa/").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.call(Method::DELETE, "/v1/datasets/qa/", None).await.0,
        StatusCode::NOT_FOUND
    );
    // A new dataset of the same name starts empty.
    app.create_dataset(qa_dataset("qa")).await;
    assert_eq!(app.case_count("qa").await, 0);
    let old_case = format!(
        "/v1/datasets/{}/cases/{}/",
        dataset["id"].as_str().unwrap(),
        case["id"].as_str().unwrap()
    );
    assert_eq!(app.get(&old_case).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_name_that_is_a_uuid_is_refused_and_ids_open_their_dataset() {
    let app = TestApp::new().await;
    let first = app.create_dataset(json!({"name": "first"})).await;
    let first_id = first["id"].as_str().unwrap();
    // A name that is another dataset's id (in any of the forms a path
    // segment resolves as an id) would shadow it: refused, on create and rename.
    let simple = first_id.replace('-', "");
    for name in [first_id.to_owned(), first_id.to_uppercase(), simple] {
        let (status, body) = app.post("/v1/datasets/", json!({"name": name})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(locs(&body), ["body.name"]);
        assert!(
            body["detail"][0]["msg"]
                .as_str()
                .unwrap()
                .contains("is a UUID"),
            "{body}"
        );
        let (status, body) = app
            .call(
                Method::PATCH,
                "/v1/datasets/first/",
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(
            (status, locs(&body)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                vec!["body.name".to_owned()]
            )
        );
    }
    let (status, list) = app.get("/v1/datasets/").await;
    assert_eq!(
        (status, list.as_array().unwrap().len()),
        (StatusCode::OK, 1)
    );
    for path in [first_id.to_owned(), first_id.to_uppercase()] {
        let (status, got) = app.get(&format!("/v1/datasets/{path}/")).await;
        assert_eq!(
            (status, got["name"].clone()),
            (StatusCode::OK, json!("first"))
        );
    }
}

// ---------------------------------------------------------------- cases

#[tokio::test]
async fn create_and_get_a_case() {
    let app = TestApp::new().await;
    let dataset = app.create_dataset(qa_dataset("qa")).await;
    let mut body = qa_case("capital");
    body["source_trace_id"] = json!("0af7651916cd43dd8448eb211c80319c");
    body["source_span_id"] = json!("b7ad6b7169203331");
    body["evaluators"] = json!([{"name": "IsInstance", "arguments": ["AnswerOutput"]}]);
    let (status, created) = app.post("/v1/datasets/qa/cases/", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let case: CaseDetail = serde_json::from_value(created.clone()).unwrap();
    assert_eq!(case.dataset_id.to_string(), dataset["id"].as_str().unwrap());
    assert_eq!(case.version, 1);
    assert_eq!(case.tags, ["geography"]);
    assert_eq!(case.source_span_id.as_deref(), Some("b7ad6b7169203331"));
    assert_eq!(case.created_at, case.updated_at);
    let (status, got) = app
        .get(&format!("/v1/datasets/qa/cases/{}/", case.id))
        .await;
    assert_eq!((status, got), (StatusCode::OK, created));
    assert_eq!(app.case_count("qa").await, 1);
}

#[tokio::test]
async fn missing_case_and_missing_dataset_are_told_apart() {
    let app = TestApp::new().await;
    app.create_dataset(json!({"name": "qa"})).await;
    let nil = "00000000-0000-0000-0000-000000000000";
    for method in [Method::GET, Method::PATCH, Method::PUT, Method::DELETE] {
        let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
        let (status, got) = app
            .call(
                method.clone(),
                &format!("/v1/datasets/qa/cases/{nil}/"),
                body.clone(),
            )
            .await;
        assert_eq!(
            (status, got),
            (StatusCode::NOT_FOUND, json!({"detail": "Case not found"})),
            "{method}"
        );
        let (status, got) = app
            .call(
                method.clone(),
                &format!("/v1/datasets/nope/cases/{nil}/"),
                body,
            )
            .await;
        assert_eq!(
            (status, got),
            (
                StatusCode::NOT_FOUND,
                json!({"detail": "Dataset not found"})
            ),
            "{method}"
        );
    }
    let (status, got) = app.get("/v1/datasets/qa/cases/not-a-uuid/").await;
    assert_eq!(
        (status, got),
        (StatusCode::NOT_FOUND, json!({"detail": "Case not found"}))
    );
    let (status, got) = app.get("/v1/datasets/nope/cases/not-a-uuid/").await;
    assert_eq!(
        (status, got),
        (
            StatusCode::NOT_FOUND,
            json!({"detail": "Dataset not found"})
        )
    );
}

#[tokio::test]
async fn a_single_invalid_case_is_422_located_in_the_body() {
    let app = TestApp::new().await;
    app.create_dataset(qa_dataset("qa")).await;
    let mut case = qa_case("bad");
    case["inputs"]["question"] = json!(42);
    case["metadata"] = json!({"category": "x"});
    let (status, body) = app.post("/v1/datasets/qa/cases/", case).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(locs(&body), ["body.inputs.question", "body.metadata"]);
    assert_eq!(body["detail"][0]["type"], "type");
    assert_eq!(body["detail"][1]["type"], "required");
    // `null` expected output and metadata mean "none" and are not validated.
    let (status, _) = app
        .post(
            "/v1/datasets/qa/cases/",
            json!({"inputs": {"question": "q"}, "expected_output": null, "metadata": null}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(app.case_count("qa").await, 1);
}

#[tokio::test]
async fn bulk_is_all_or_nothing_and_names_every_invalid_case() {
    let app = TestApp::new().await;
    app.create_dataset(qa_dataset("qa")).await;
    let mut cases: Vec<Value> = (0..5).map(|i| qa_case(&format!("c{i}"))).collect();
    cases[1]["inputs"] = json!({});
    cases[3]["expected_output"]["confidence"] = json!("high");
    let (status, body) = app
        .post("/v1/datasets/qa/cases/bulk/", json!({"cases": cases}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        locs(&body),
        [
            "body.cases.1.inputs",
            "body.cases.3.expected_output.confidence"
        ]
    );
    assert_eq!(app.case_count("qa").await, 0);
    assert_eq!(app.get("/v1/datasets/qa/cases/").await.1, json!([]));

    let good: Vec<Value> = (0..5).map(|i| qa_case(&format!("c{i}"))).collect();
    let (status, created) = app
        .post("/v1/datasets/qa/cases/bulk", json!({"cases": good}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let names: Vec<&str> = created
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c0", "c1", "c2", "c3", "c4"], "in order");
    assert_eq!(app.case_count("qa").await, 5);

    // A taken name rejects the whole batch.
    let (status, body) = app
        .post(
            "/v1/datasets/qa/cases/bulk/",
            json!({"cases": [qa_case("new"), qa_case("c2")]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("c2"));
    // A name repeated within the batch is refused at the later case.
    let (status, body) = app
        .post(
            "/v1/datasets/qa/cases/bulk/",
            json!({"cases": [qa_case("dup"), qa_case("dup")]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["detail"][0]["loc"],
        json!(["body", "cases", 1, "name"])
    );
    assert_eq!(app.case_count("qa").await, 5);
    let (status, _) = app.post("/v1/datasets/qa/cases/", qa_case("c0")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Unnamed cases never conflict.
    let (status, _) = app
        .post(
            "/v1/datasets/qa/cases/bulk/",
            json!({"cases": [{"inputs": {"question": "a"}}, {"inputs": {"question": "a"}}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(app.case_count("qa").await, 7);
}

/// Requests of many cases are checked on a second thread while the first
/// writes them; the guarantees are the same as for a few.
#[tokio::test]
async fn large_bulk_and_import_requests_keep_every_guarantee() {
    let app = TestApp::new().await;
    app.create_dataset(qa_dataset("qa")).await;
    let many = |from: usize, to: usize| -> Vec<Value> {
        (from..to).map(|i| qa_case(&format!("c{i}"))).collect()
    };

    // Invalid cases far apart, the first after many valid ones: every one
    // is named, nothing is stored.
    let mut cases = many(0, 3_000);
    cases[1_500]["inputs"] = json!({});
    cases[2_999]["metadata"]["difficulty"] = json!(3);
    let (status, body) = app
        .post("/v1/datasets/qa/cases/bulk/", json!({"cases": cases}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        locs(&body),
        [
            "body.cases.1500.inputs",
            "body.cases.2999.metadata.difficulty"
        ]
    );
    assert_eq!(app.case_count("qa").await, 0);

    // All valid: all written, answered in order.
    let (status, created) = app
        .post(
            "/v1/datasets/qa/cases/bulk/",
            json!({"cases": many(0, 3_000)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let names: Vec<String> = created
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        (0..3_000).map(|i| format!("c{i}")).collect::<Vec<_>>()
    );
    assert_eq!(app.case_count("qa").await, 3_000);

    // A taken name deep in a large request is a 409 and writes nothing,
    // even when an invalid case follows it.
    let mut cases = many(3_000, 5_000);
    cases[1_200] = qa_case("c7");
    cases[1_900]["inputs"] = json!({});
    let (status, body) = app
        .post("/v1/datasets/qa/cases/bulk/", json!({"cases": cases}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("c7"));
    assert_eq!(app.case_count("qa").await, 3_000);

    // A large upsert: existing names updated in place, new ones added.
    let mut cases = many(2_000, 4_000);
    for case in &mut cases {
        case["tags"] = json!(["second"]);
    }
    let (status, imported) = app
        .post(
            "/v1/datasets/qa/import/?on_conflict=update",
            json!({"cases": cases}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{imported}");
    let imported = imported.as_array().unwrap();
    assert_eq!(imported.len(), 2_000);
    assert_eq!(imported[0]["name"], "c2000");
    assert_eq!(imported[0]["version"], 2, "updated in place");
    assert_eq!(imported[1_999]["version"], 1, "new");
    assert_eq!(app.case_count("qa").await, 4_000);
}

#[tokio::test]
async fn update_a_case_partially() {
    let app = TestApp::new().await;
    app.create_dataset(qa_dataset("qa")).await;
    app.post("/v1/datasets/qa/cases/", qa_case("taken")).await;
    let (_, case) = app.post("/v1/datasets/qa/cases/", qa_case("c")).await;
    let path = format!("/v1/datasets/qa/cases/{}/", case["id"].as_str().unwrap());

    let (status, updated) = app
        .call(
            Method::PATCH,
            &path,
            Some(
                json!({"metadata": {"category": "math", "difficulty": "hard", "reviewed": true},
                                                "tags": ["verified", "math", "verified"]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["metadata"]["reviewed"], true);
    assert_eq!(updated["tags"], json!(["verified", "math"]));
    assert_eq!(
        updated["inputs"], case["inputs"],
        "absent keys are left as is"
    );
    assert_eq!(updated["created_at"], case["created_at"]);

    let (_, updated) = app
        .call(
            Method::PUT,
            &path,
            Some(json!({"expected_output": null, "name": null})),
        )
        .await;
    assert_eq!(updated["expected_output"], Value::Null);
    assert_eq!(updated["name"], Value::Null);
    assert_eq!(updated["version"], 3);

    let (status, body) = app
        .call(
            Method::PATCH,
            &path,
            Some(json!({"expected_output": {"answer": 1}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        locs(&body),
        ["body.expected_output", "body.expected_output.answer"],
        "{body}"
    );
    let (status, _) = app
        .call(Method::PATCH, &path, Some(json!({"name": "taken"})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, current) = app.get(&path).await;
    assert_eq!(current["version"], 3, "failed updates change nothing");

    // The tag index follows the update.
    let (_, math) = app.get("/v1/datasets/qa/cases/?tags=math").await;
    assert_eq!(math.as_array().unwrap().len(), 1);
    let (_, geo) = app.get("/v1/datasets/qa/cases/?tags=geography").await;
    assert_eq!(
        geo.as_array().unwrap().len(),
        1,
        "only the untouched case keeps it"
    );
}

#[tokio::test]
async fn delete_a_case() {
    let app = TestApp::new().await;
    app.create_dataset(qa_dataset("qa")).await;
    let (_, case) = app.post("/v1/datasets/qa/cases/", qa_case("c")).await;
    let path = format!("/v1/datasets/qa/cases/{}", case["id"].as_str().unwrap());
    assert_eq!(
        app.call(Method::DELETE, &path, None).await,
        (StatusCode::NO_CONTENT, Value::Null)
    );
    assert_eq!(app.get(&path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.call(Method::DELETE, &path, None).await.1,
        json!({"detail": "Case not found"})
    );
    assert_eq!(app.case_count("qa").await, 0);
    // The freed name can be used again.
    assert_eq!(
        app.post("/v1/datasets/qa/cases/", qa_case("c")).await.0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn the_tag_filter_matches_any_of_the_tags() {
    let app = TestApp::new().await;
    app.create_dataset(json!({"name": "t"})).await;
    let cases = json!({"cases": [
        {"name": "a", "inputs": 1, "tags": ["x"]},
        {"name": "b", "inputs": 2, "tags": ["y"]},
        {"name": "c", "inputs": 3, "tags": ["x", "z"]},
        {"name": "d", "inputs": 4},
        {"name": "e", "inputs": 5, "tags": ["with space & symbols"]},
    ]});
    app.post("/v1/datasets/t/cases/bulk/", cases).await;
    let names = |body: Value| -> Vec<String> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(app.get("/v1/datasets/t/cases/").await.1),
        ["a", "b", "c", "d", "e"]
    );
    assert_eq!(
        names(app.get("/v1/datasets/t/cases/?tags=x").await.1),
        ["a", "c"]
    );
    assert_eq!(
        names(app.get("/v1/datasets/t/cases/?tags=y&tags=z").await.1),
        ["b", "c"]
    );
    assert_eq!(
        names(app.get("/v1/datasets/t/cases/?tags=nope").await.1),
        Vec::<String>::new()
    );
    assert_eq!(
        names(
            app.get("/v1/datasets/t/cases/?tags=with%20space%20%26%20symbols")
                .await
                .1
        ),
        ["e"]
    );
}

#[tokio::test]
async fn import_with_on_conflict() {
    let app = TestApp::new().await;
    app.create_dataset(qa_dataset("qa")).await;
    let (_, first) = app
        .post(
            "/v1/datasets/qa/import/",
            json!({"cases": [qa_case("a"), qa_case("b")]}),
        )
        .await;
    let a_id = first[0]["id"].clone();

    let mut changed = qa_case("a");
    changed["expected_output"]["answer"] = json!("changed");
    changed.as_object_mut().unwrap().remove("tags");
    let (status, body) = app
        .post(
            "/v1/datasets/qa/import/?on_conflict=error",
            json!({"cases": [qa_case("new"), changed.clone()]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = app
        .post(
            "/v1/datasets/qa/import/",
            json!({"cases": [changed.clone()]}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "absent on_conflict means error"
    );
    assert_eq!(app.case_count("qa").await, 2, "nothing written");

    let (status, upserted) = app
        .post(
            "/v1/datasets/qa/import/?on_conflict=update",
            json!({"cases": [qa_case("new"), changed]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{upserted}");
    assert_eq!(upserted[1]["id"], a_id, "updated in place");
    assert_eq!(upserted[1]["version"], 2);
    assert_eq!(upserted[1]["expected_output"]["answer"], "changed");
    assert_eq!(
        upserted[1]["tags"],
        json!(["geography"]),
        "tags absent from the import are kept"
    );
    assert_eq!(upserted[0]["version"], 1);
    assert_eq!(app.case_count("qa").await, 3);
    let (_, listed) = app.get("/v1/datasets/qa/cases/").await;
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "new"], "an upsert keeps the case's place");

    let (status, body) = app
        .post(
            "/v1/datasets/qa/import/?on_conflict=merge",
            json!({"cases": []}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(locs(&body), ["query.on_conflict"]);
    assert!(body["detail"][0]["msg"].as_str().unwrap().contains("merge"));

    let mut bad = qa_case("b");
    bad["inputs"] = json!({"question": null});
    let (status, body) = app
        .post(
            "/v1/datasets/qa/import/?on_conflict=update",
            json!({"cases": [qa_case("z"), bad]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(locs(&body), ["body.cases.1.inputs.question"]);
    assert_eq!(app.case_count("qa").await, 3);
}

#[tokio::test]
async fn export_has_exactly_the_pydantic_evals_shape() {
    let app = TestApp::new().await;
    let mut dataset = qa_dataset("qa");
    dataset["evaluators"] = json!([{"name": "EqualsExpected", "arguments": null}]);
    app.create_dataset(dataset).await;
    let mut with_evaluator = qa_case("a");
    with_evaluator["evaluators"] =
        json!([{"name": "Contains", "arguments": {"value": "x", "case_sensitive": false}}]);
    app.post(
        "/v1/datasets/qa/cases/bulk/",
        json!({"cases": [with_evaluator, {"inputs": {"question": "q"}}]}),
    )
    .await;
    let (status, export) = app.get("/v1/datasets/qa/export/").await;
    assert_eq!(status, StatusCode::OK);
    let keys: Vec<&String> = export.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["name", "cases", "evaluators", "report_evaluators"]);
    assert_eq!(export["name"], "qa");
    assert_eq!(
        export["evaluators"],
        json!([{"name": "EqualsExpected", "arguments": null}])
    );
    assert_eq!(export["report_evaluators"], json!([]));
    for case in export["cases"].as_array().unwrap() {
        let keys: Vec<&String> = case.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            // pydantic-evals' field order, as its own export writes them.
            [
                "name",
                "inputs",
                "metadata",
                "expected_output",
                "evaluators"
            ]
        );
        assert!(case["evaluators"].is_array(), "never null");
    }
    assert_eq!(
        export["cases"][0]["evaluators"][0]["arguments"]["value"],
        "x"
    );
    assert_eq!(export["cases"][1]["expected_output"], Value::Null);
    let typed: ExportedDataset = serde_json::from_value(export).unwrap();
    assert_eq!(typed.cases.len(), 2);
}

// ---------------------------------------------------------------- protocol edges

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = TestApp::with_config(ServerConfig::default().body_limit(1024)).await;
    app.create_dataset(json!({"name": "qa"})).await;
    let big = json!({"cases": [{"inputs": "x".repeat(2000)}]});
    let (status, body) = app.post("/v1/datasets/qa/cases/bulk/", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("1024"));
    assert_eq!(app.case_count("qa").await, 0);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_protocols_shape() {
    let app = TestApp::new().await;
    let (status, body) = app.get("/v2/nothing").await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"detail": "Not Found"}))
    );
    let (status, body) = app.call(Method::DELETE, "/v1/datasets/", None).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"detail": "Method Not Allowed"})
        )
    );
}

#[tokio::test]
async fn every_path_works_with_and_without_its_trailing_slash() {
    let app = TestApp::new().await;
    app.create_dataset(json!({"name": "qa"})).await;
    let (_, case) = app
        .post("/v1/datasets/qa/cases/", json!({"inputs": 1}))
        .await;
    let id = case["id"].as_str().unwrap();
    for path in [
        "/v1/datasets",
        "/v1/datasets/qa",
        "/v1/datasets/qa/cases",
        &format!("/v1/datasets/qa/cases/{id}"),
        "/v1/datasets/qa/export",
    ] {
        assert_eq!(app.get(path).await.0, StatusCode::OK, "{path}");
        assert_eq!(
            app.get(&format!("{path}/")).await.0,
            StatusCode::OK,
            "{path}/"
        );
    }
    for path in ["/v1/datasets/qa/cases/bulk", "/v1/datasets/qa/import"] {
        for path in [path.to_owned(), format!("{path}/")] {
            let (status, body) = app.post(&path, json!({"cases": []})).await;
            assert!(status.is_success(), "{path}: {status} {body}");
        }
    }
}

#[tokio::test]
async fn one_upserting_import_refuses_a_name_twice_and_mixes_given_and_absent_tags() {
    let app = TestApp::new().await;
    app.create_dataset(qa_dataset("qa")).await;
    let first = qa_case("r");
    let mut again = qa_case("r");
    again["inputs"] = json!({"question": "second"});
    again.as_object_mut().unwrap().remove("tags");
    let mut tagged = qa_case("s");
    tagged["tags"] = json!(["x", "y", "x"]);
    // One request never names a case twice: the later one is refused,
    // naming the earlier, and nothing lands.
    let (status, answer) = app
        .post(
            "/v1/datasets/qa/import/?on_conflict=update",
            json!({"cases": [first.clone(), again.clone()]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        answer["detail"][0]["loc"],
        json!(["body", "cases", 1, "name"])
    );
    assert_eq!(answer["detail"][0]["type"], "duplicate_name");
    assert_eq!(app.case_count("qa").await, 0);
    let (status, answer) = app
        .post(
            "/v1/datasets/qa/import/?on_conflict=update",
            json!({"cases": [first, tagged, {"inputs": {"question": "unnamed"}}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = app
        .post(
            "/v1/datasets/qa/import/?on_conflict=update",
            json!({"cases": [again]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer = answer.as_array().unwrap();
    assert_eq!(answer[0]["version"].as_i64(), Some(2));
    assert_eq!(answer[0]["inputs"]["question"], "second");
    assert_eq!(
        answer[0]["tags"],
        json!(["geography"]),
        "absent tags are kept"
    );
    assert_eq!(app.case_count("qa").await, 3);
    let (_, listed) = app.get("/v1/datasets/qa/cases/").await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0]["inputs"]["question"], "second");
    assert_eq!(listed[0]["version"], 2);
    assert_eq!(listed[1]["tags"], json!(["x", "y"]));
    assert_eq!(listed[2]["name"], Value::Null);
}
