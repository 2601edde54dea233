//! Cursor pagination of case lists (`limit`, `cursor`, `Next-Cursor`): every
//! case exactly once, in order, while another client inserts; tag filters;
//! bad limits and cursors. Over a real socket.

mod common;

use std::collections::BTreeSet;

use common::http::Api;
use datasets_server::{EmbeddedServer, MAX_PAGE_SIZE};
use serde_json::{Value, json};

/// One page of dataset `qa`: status, cases, next cursor.
async fn one_page(api: &Api, query: &str) -> (u16, Value, Option<String>) {
    let path = format!("/v1/datasets/qa/cases/?{query}");
    let (status, headers, body) = api.answer(reqwest::Method::GET, &path, &[], None).await;
    let next = headers
        .get("next-cursor")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, body, next)
}

/// Every page of a listing of `qa`, and how many pages there were.
async fn all_pages(api: &Api, query: &str) -> (Vec<Value>, usize) {
    let (mut cases, mut pages) = (Vec::new(), 0);
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(cursor) => format!("{query}&cursor={cursor}"),
            None => query.to_owned(),
        };
        let (status, page, next) = one_page(api, &query).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        cases.extend(page.as_array().unwrap().iter().cloned());
        match next {
            Some(next) => cursor = Some(next),
            None => return (cases, pages),
        }
    }
}

fn numbered(from: usize, to: usize) -> Value {
    let cases: Vec<Value> = (from..to)
        .map(|n| json!({"inputs": {"n": n}, "tags": [if n % 2 == 0 { "even" } else { "odd" }]}))
        .collect();
    json!({ "cases": cases })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_hold_every_case_once_in_order_while_another_client_inserts() {
    let server = EmbeddedServer::start().unwrap();
    let api = std::sync::Arc::new(Api::new(&server));
    api.post("/v1/datasets/", json!({"name": "qa"})).await;
    api.post("/v1/datasets/qa/cases/bulk/", numbered(0, 1000))
        .await;

    let writer_api = api.clone();
    let writer = tokio::spawn(async move {
        for batch in 0..50 {
            let first = 1000 + batch * 10;
            writer_api
                .post("/v1/datasets/qa/cases/bulk/", numbered(first, first + 10))
                .await;
            tokio::task::yield_now().await;
        }
    });
    let (listed, pages) = all_pages(&api, "limit=37").await;
    writer.await.unwrap();

    let numbers: Vec<u64> = listed
        .iter()
        .map(|c| c["inputs"]["n"].as_u64().unwrap())
        .collect();
    let distinct: BTreeSet<u64> = numbers.iter().copied().collect();
    assert_eq!(distinct.len(), numbers.len(), "no case twice");
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "in insertion order"
    );
    for n in 0..1000 {
        assert!(
            distinct.contains(&n),
            "case {n}, there before the listing began, is missing"
        );
    }
    assert!(pages >= 1000 / 37, "{pages} pages");
    // Once the writer is done, a listing sees everything.
    let (all, _) = all_pages(&api, "limit=500").await;
    assert_eq!(all.len(), 1500);
}

#[tokio::test]
async fn pages_follow_the_tag_filter_and_stop_without_a_cursor() {
    let server = EmbeddedServer::start().unwrap();
    let api = Api::new(&server);
    api.post("/v1/datasets/", json!({"name": "qa"})).await;
    api.post("/v1/datasets/qa/cases/bulk/", numbered(0, 100))
        .await;
    let (odd, pages) = all_pages(&api, "tags=odd&limit=10").await;
    assert_eq!((odd.len(), pages), (50, 5));
    assert!(odd.iter().all(|c| c["tags"] == json!(["odd"])));
    // An exact last page ends without a cursor: no empty page to fetch.
    let (_, page, next) = one_page(&api, "limit=100").await;
    assert_eq!((page.as_array().unwrap().len(), next), (100, None));
    // Without limit or cursor, the whole list, as the protocol has it.
    let (status, everything, next) = one_page(&api, "").await;
    assert_eq!(
        (status, everything.as_array().unwrap().len(), next),
        (200, 100, None)
    );
    // A cursor alone pages with the default size.
    let (_, first, cursor) = one_page(&api, "limit=1").await;
    let (_, rest, _) = one_page(&api, &format!("cursor={}", cursor.unwrap())).await;
    assert_eq!(rest.as_array().unwrap().len(), 99);
    assert_ne!(rest[0]["id"], first[0]["id"]);
}

#[tokio::test]
async fn bad_limits_and_cursors_are_422_at_their_query_parameter() {
    let server = EmbeddedServer::start().unwrap();
    let api = Api::new(&server);
    api.post("/v1/datasets/", json!({"name": "qa"})).await;
    let too_big = format!("limit={}", MAX_PAGE_SIZE + 1);
    for (query, parameter) in [
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        (too_big.as_str(), "limit"),
        ("cursor=abc", "cursor"),
        ("limit=5&cursor=v1.zz", "cursor"),
    ] {
        let (status, body, _) = one_page(&api, query).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["query", parameter]),
            "{query}"
        );
    }
}

/// Every page of the dataset listing with `limit`, and how many pages.
async fn all_dataset_pages(api: &Api, limit: usize) -> (Vec<String>, usize) {
    let (mut names, mut pages) = (Vec::new(), 0);
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/datasets/?limit={limit}&cursor={cursor}"),
            None => format!("/v1/datasets/?limit={limit}"),
        };
        let (status, headers, page) = api.answer(reqwest::Method::GET, &path, &[], None).await;
        assert_eq!(status, 200, "{page}");
        let page = page.as_array().unwrap();
        assert!(page.len() <= limit);
        pages += 1;
        names.extend(page.iter().map(|d| d["name"].as_str().unwrap().to_owned()));
        match headers.get("next-cursor") {
            Some(next) => cursor = Some(next.to_str().unwrap().to_owned()),
            None => return (names, pages),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dataset_listing_pages_by_name_and_whole_without_a_limit() {
    let server = EmbeddedServer::start().unwrap();
    let api = Api::new(&server);
    // Names whose byte order differs from a locale's: case, digits, dots.
    let mut expected: Vec<String> = (0..237)
        .map(|i| match i % 4 {
            0 => format!("qa-{i:03}"),
            1 => format!("QA_{i}"),
            2 => format!("evals.v{i}"),
            _ => format!("{i}-humaneval"),
        })
        .collect();
    for name in &expected {
        api.post("/v1/datasets/", json!({ "name": name })).await;
    }
    expected.sort();
    // Without a limit: every dataset in one answer, as Logfire's SDK reads it.
    let (status, headers, whole) = api
        .answer(reqwest::Method::GET, "/v1/datasets/", &[], None)
        .await;
    assert_eq!(status, 200);
    assert!(headers.get("next-cursor").is_none());
    let whole: Vec<&str> = whole
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(whole, expected);
    for limit in [1, 10, 100, 237, 1000] {
        let (names, pages) = all_dataset_pages(&api, limit).await;
        assert_eq!(names, expected, "limit {limit}");
        assert_eq!(pages, 237usize.div_ceil(limit), "limit {limit}");
    }
    // A dataset created between pages appears once, where its name sorts.
    let (status, headers, first) = api
        .answer(reqwest::Method::GET, "/v1/datasets/?limit=50", &[], None)
        .await;
    assert_eq!((status, first.as_array().unwrap().len()), (200, 50));
    let cursor = headers["next-cursor"].to_str().unwrap().to_owned();
    api.post("/v1/datasets/", json!({"name": "zz-late"})).await;
    let (_, rest) = api
        .send(
            reqwest::Method::GET,
            &format!("/v1/datasets/?limit=1000&cursor={cursor}"),
            &[],
            None,
        )
        .await;
    assert_eq!(rest.as_array().unwrap().last().unwrap()["name"], "zz-late");
    assert_eq!(rest.as_array().unwrap().len(), 237 - 50 + 1);
    // Bad limits and cursors, another listing's cursor among them.
    let (_, case_headers, _) = {
        api.post("/v1/datasets/qa-000/cases/bulk/", numbered(0, 3))
            .await;
        api.answer(
            reqwest::Method::GET,
            "/v1/datasets/qa-000/cases/?limit=1",
            &[],
            None,
        )
        .await
    };
    let case_cursor = case_headers["next-cursor"].to_str().unwrap().to_owned();
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("cursor=garbage", "cursor"),
        (&format!("cursor={case_cursor}") as &str, "cursor"),
    ] {
        let (status, body) = api
            .send(
                reqwest::Method::GET,
                &format!("/v1/datasets/?{query}"),
                &[],
                None,
            )
            .await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["detail"][0]["loc"], json!(["query", field]), "{query}");
    }
}
