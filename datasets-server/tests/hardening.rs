//! Hostile and careless clients against a real server on a real socket:
//! every request below is refused cleanly, in the protocol's JSON error
//! shape, stores nothing, and leaves the server answering `/health`
//! promptly; slow clients cannot hold connections open.
//!
//! Requests are written by hand over raw TCP, so that what is sent is
//! exactly what a hostile client would send (no client library tidies it).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use datasets_server::{EmbeddedServer, ServerConfig};
use serde_json::{Value, json};

/// An answer as read off the socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "{} body is not JSON ({err}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `loc` of the first issue of a 4xx detail list.
    fn loc(&self) -> Value {
        self.json()["detail"][0]["loc"].clone()
    }

    fn kind(&self) -> Value {
        self.json()["detail"][0]["type"].clone()
    }
}

/// Reads one answer from `stream` (by `Content-Length`, chunks, or to EOF).
fn read_answer(stream: &mut TcpStream) -> Option<Answer> {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => raw.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8(raw).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(length) = find("content-length") {
        body.resize(length.parse().unwrap(), 0);
        stream.read_exact(&mut body).ok()?;
    } else if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut line = Vec::new();
            while !line.ends_with(b"\r\n") {
                stream.read_exact(&mut byte).ok()?;
                line.push(byte[0]);
            }
            let size = usize::from_str_radix(std::str::from_utf8(&line).ok()?.trim(), 16).ok()?;
            let mut chunk = vec![0; size + 2];
            stream.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        stream.read_to_end(&mut body).ok()?;
    }
    Some(Answer {
        status,
        headers,
        body,
    })
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream
}

/// Sends `method path` with `key`, extra header lines and `body` on a new
/// connection, and reads the answer.
fn request(
    server: &EmbeddedServer,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &[u8],
) -> Answer {
    let mut stream = connect(server.addr());
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {}\r\n\
         content-length: {}\r\nconnection: close\r\n",
        server.api_key(),
        body.len()
    );
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    read_answer(&mut stream).expect("an answer")
}

fn json_request(server: &EmbeddedServer, method: &str, path: &str, body: &[u8]) -> Answer {
    request(
        server,
        method,
        path,
        &["content-type: application/json"],
        body,
    )
}

fn get(server: &EmbeddedServer, path: &str) -> Answer {
    request(server, "GET", path, &[], b"")
}

fn post(server: &EmbeddedServer, path: &str, body: &Value) -> Answer {
    json_request(server, "POST", path, &serde_json::to_vec(body).unwrap())
}

/// Asserts the server still answers `/health`, promptly.
fn assert_healthy(server: &EmbeddedServer) {
    let started = Instant::now();
    let answer = get(server, "/health");
    assert_eq!(answer.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

fn case_count(server: &EmbeddedServer, dataset: &str) -> u64 {
    let answer = get(server, &format!("/v1/datasets/{dataset}/"));
    assert_eq!(
        answer.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.json()["case_count"].as_u64().unwrap()
}

/// A server with dataset `qa` (no schemas) holding one case, `keep`.
fn server_with_dataset() -> (EmbeddedServer, String) {
    let server = EmbeddedServer::start().unwrap();
    let created = post(&server, "/v1/datasets/", &json!({"name": "qa"}));
    assert_eq!(created.status, 201);
    let case = post(
        &server,
        "/v1/datasets/qa/cases/",
        &json!({"name": "keep", "inputs": {"q": "kept"}}),
    );
    assert_eq!(case.status, 201);
    let id = case.json()["id"].as_str().unwrap().to_owned();
    (server, id)
}

#[test]
fn lone_surrogates_are_refused_on_every_write_path() {
    let (server, case_id) = server_with_dataset();
    let case_path = format!("/v1/datasets/qa/cases/{case_id}/");
    let attempts: Vec<(&str, &str, String, Value)> = vec![
        ("POST", "/v1/datasets/qa/cases/", r#"{"inputs": {"q": "\ud800"}}"#.into(), json!(["body", "inputs", "q"])),
        ("POST", "/v1/datasets/qa/cases/", r#"{"inputs": {"q": 1}, "metadata": {"\udc00": 1}}"#.into(), json!(["body", "metadata"])),
        ("POST", "/v1/datasets/qa/cases/bulk/", r#"{"cases": [{"inputs": 1}, {"inputs": ["a\udc00"]}]}"#.into(), json!(["body", "cases", 1, "inputs", 0])),
        ("POST", "/v1/datasets/qa/import/", r#"{"cases": [{"inputs": {"q": "\ud83d"}}]}"#.into(), json!(["body", "cases", 0, "inputs", "q"])),
        ("POST", "/v1/datasets/qa/cases/", r#"{"inputs": 1, "evaluators": [{"name": "Equals", "arguments": {"value": "\ud800"}}]}"#.into(), json!(["body", "evaluators", 0, "arguments", "value"])),
        ("PATCH", &case_path, r#"{"expected_output": "\ud800"}"#.into(), json!(["body", "expected_output"])),
        ("POST", "/v1/datasets/", r#"{"name": "other", "input_schema": {"title": "\ud800"}}"#.into(), json!(["body", "input_schema", "title"])),
        ("PATCH", "/v1/datasets/qa/", r#"{"evaluators": [{"name": "Contains", "arguments": ["\udfff"]}]}"#.into(), json!(["body", "evaluators", 0, "arguments", 0])),
    ];
    for (method, path, body, loc) in attempts {
        let answer = json_request(&server, method, path, body.as_bytes());
        assert_eq!(answer.status, 400, "{method} {path} {body}");
        assert_eq!(
            (answer.loc(), answer.kind()),
            (loc, json!("json_invalid_unicode")),
            "{body}"
        );
        let msg = answer.json()["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(msg.contains("surrogate"), "{msg}");
    }
    // Nothing was stored or changed: one case, at version 1, no evaluators.
    assert_eq!(case_count(&server, "qa"), 1);
    let case = get(&server, &case_path).json();
    assert_eq!(
        (case["version"].clone(), case["expected_output"].clone()),
        (json!(1), Value::Null)
    );
    assert_eq!(
        get(&server, "/v1/datasets/qa/").json()["evaluators"],
        Value::Null
    );
    assert_eq!(get(&server, "/v1/datasets/other/").status, 404);
    // Pairs are text, and the dataset can still be given a schema.
    let pair = post(
        &server,
        "/v1/datasets/qa/cases/",
        &json!({"inputs": {"q": "😀"}}),
    );
    assert_eq!(pair.status, 201);
    let raw_pair = json_request(
        &server,
        "POST",
        "/v1/datasets/qa/cases/",
        br#"{"inputs": {"q": "\ud83d\ude00"}}"#,
    );
    assert_eq!(raw_pair.status, 201);
    let schema = json_request(
        &server,
        "PATCH",
        "/v1/datasets/qa/",
        br#"{"input_schema": {"type": "object"}}"#,
    );
    assert_eq!(schema.status, 200, "{:?}", schema.json());
    assert_healthy(&server);
}

#[test]
fn a_stored_lone_surrogate_never_turns_a_schema_change_into_a_500() {
    // A row written by a server from before the guard, which kept such
    // text as sent: put there behind the server's back.
    let (server, case_id) = server_with_dataset();
    if server.is_postgres() {
        eprintln!("skipped on PostgreSQL: the row is written with SQLite behind the server's back");
        return;
    }
    let db = rusqlite::Connection::open(server.db_path()).unwrap();
    let changed = db
        .execute(
            r#"UPDATE cases SET inputs = '{"q":"\ud800"}', metadata = '{"\udc00":1}' WHERE id = ?1"#,
            [&case_id],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    // The stored text still reads back as stored.
    let read = get(&server, &format!("/v1/datasets/qa/cases/{case_id}/"));
    assert_eq!(read.status, 200);
    assert!(String::from_utf8_lossy(&read.body).contains(r#""q":"\ud800""#));
    // A schema it satisfies is accepted; one it does not is a 422 naming it.
    let accepted = json_request(
        &server,
        "PATCH",
        "/v1/datasets/qa/",
        br#"{"input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}"#,
    );
    assert_eq!(accepted.status, 200, "{:?}", accepted.json());
    let refused = json_request(
        &server,
        "PATCH",
        "/v1/datasets/qa/",
        br#"{"metadata_schema": {"type": "object", "additionalProperties": false}}"#,
    );
    assert_eq!(refused.status, 422, "{:?}", refused.json());
    assert!(
        refused.json().to_string().contains(&case_id),
        "{}",
        refused.json()
    );
    assert_healthy(&server);
}

#[test]
fn a_body_is_exactly_one_json_document() {
    let (server, case_id) = server_with_dataset();
    let case_path = format!("/v1/datasets/qa/cases/{case_id}/");
    let bodies: Vec<(&str, &str, &[u8])> = vec![
        ("POST", "/v1/datasets/qa/cases/", br#"{"inputs":{"x":1}} x"#),
        (
            "POST",
            "/v1/datasets/qa/cases/",
            br#"{"inputs":{"x":1}}{"inputs":{"x":2}}"#,
        ),
        (
            "POST",
            "/v1/datasets/qa/cases/bulk/",
            br#"{"cases":[{"inputs":1}]} []"#,
        ),
        (
            "POST",
            "/v1/datasets/qa/import/",
            br#"{"cases":[{"inputs":1}]},"#,
        ),
        (
            "PATCH",
            &case_path,
            br#"{"name":"renamed"} {"name":"again"}"#,
        ),
        (
            "POST",
            "/v1/datasets/",
            br#"{"name":"other"}{"name":"third"}"#,
        ),
        ("PATCH", "/v1/datasets/qa/", br#"{"description":"d"} null"#),
    ];
    for (method, path, body) in bodies {
        let answer = json_request(&server, method, path, body);
        assert_eq!(answer.status, 400, "{method} {path}");
        assert_eq!(answer.loc(), json!(["body"]), "{:?}", answer.json());
        let msg = answer.json()["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(msg.contains("exactly one JSON value"), "{msg}");
    }
    // Whitespace around the document is no second document.
    let spaced = json_request(
        &server,
        "POST",
        "/v1/datasets/qa/cases/",
        b"\n {\"inputs\": 1} \r\n\t",
    );
    assert_eq!(spaced.status, 201);
    assert_eq!(case_count(&server, "qa"), 2);
    let case = get(&server, &case_path).json();
    assert_eq!(
        (case["name"].clone(), case["version"].clone()),
        (json!("keep"), json!(1))
    );
    assert_eq!(
        get(&server, "/v1/datasets/")
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        get(&server, "/v1/datasets/qa/").json()["description"],
        Value::Null
    );
    assert_healthy(&server);
}

#[test]
fn an_array_is_never_read_as_an_object() {
    let (server, case_id) = server_with_dataset();
    let case_path = format!("/v1/datasets/qa/cases/{case_id}/");
    let bodies: Vec<(&str, &str, &[u8], Value)> = vec![
        ("POST", "/v1/datasets/", br#"["name"]"#, json!(["body"])),
        (
            "POST",
            "/v1/datasets/qa/cases/",
            br#"[{"q":1},"case-name"]"#,
            json!(["body"]),
        ),
        (
            "POST",
            "/v1/datasets/qa/cases/bulk/",
            br#"{"cases":[[1]]}"#,
            json!(["body", "cases", 0]),
        ),
        (
            "POST",
            "/v1/datasets/qa/import/",
            br#"{"cases":[{"inputs":1},[{"q":2}]]}"#,
            json!(["body", "cases", 1]),
        ),
        (
            "POST",
            "/v1/datasets/qa/cases/bulk/",
            br#"[[{"inputs":1}]]"#,
            json!(["body"]),
        ),
        ("PATCH", &case_path, br#"[{"q":3}]"#, json!(["body"])),
        (
            "PATCH",
            "/v1/datasets/qa/",
            br#"["renamed"]"#,
            json!(["body"]),
        ),
    ];
    for (method, path, body, loc) in bodies {
        let answer = json_request(&server, method, path, body);
        assert_eq!(answer.status, 400, "{method} {path} {:?}", answer.json());
        assert_eq!(answer.loc(), loc, "{:?}", answer.json());
        let msg = answer.json()["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(msg.contains("expected a JSON object"), "{msg}");
    }
    assert_eq!(case_count(&server, "qa"), 1);
    assert_eq!(get(&server, &case_path).json()["version"], 1);
    assert_eq!(
        get(&server, "/v1/datasets/")
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_healthy(&server);
}

/// An object of `keys` distinct keys, as a case's inputs.
fn wide_case(keys: usize) -> Vec<u8> {
    let mut body = String::from(r#"{"inputs": {"#);
    for i in 0..keys {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!("\"key-{i}\":{i}"));
    }
    body.push_str("}}");
    body.into_bytes()
}

#[test]
fn wide_objects_are_accepted_without_stalling_other_clients() {
    let (server, _) = server_with_dataset();
    let body = wide_case(100_000);
    assert!(body.len() > 1_000_000);
    // Two expensive bodies at once, as the attack that stalled the server
    // for 18 s; meanwhile another client asks for /health.
    let senders: Vec<_> = (0..2)
        .map(|_| {
            let body = body.clone();
            let addr = server.addr();
            let key = server.api_key().to_owned();
            std::thread::spawn(move || {
                let mut stream = connect(addr);
                let head = format!(
                    "POST /v1/datasets/qa/cases/ HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {key}\r\n\
                     content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(head.as_bytes()).unwrap();
                stream.write_all(&body).unwrap();
                let answer = read_answer(&mut stream).expect("an answer");
                (answer.status, Instant::now())
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    assert_healthy(&server);
    for sender in senders {
        let (status, _) = sender.join().unwrap();
        assert_eq!(status, 201);
    }
    assert_eq!(case_count(&server, "qa"), 3);
    // A duplicate among them is still found, wherever it is.
    let mut duplicate = wide_case(50_000);
    let end = duplicate.len() - 2;
    duplicate.splice(end..end, br#","key-7":0"#.iter().copied());
    let answer = json_request(&server, "POST", "/v1/datasets/qa/cases/", &duplicate);
    assert_eq!(
        (answer.status, answer.loc()),
        (400, json!(["body", "inputs", "key-7"]))
    );
    assert_eq!(case_count(&server, "qa"), 3);
}

/// A server with short connection limits, for the slow-client tests.
fn strict_server(max_connections: usize) -> EmbeddedServer {
    EmbeddedServer::with_config(
        ServerConfig::default()
            .header_timeout(Duration::from_millis(800))
            .body_timeout(Duration::from_millis(800))
            .keep_alive_timeout(Duration::from_millis(800))
            .max_connections(max_connections),
    )
    .unwrap()
}

/// Reads what is left on `stream` until the server closes it; `None` if it
/// is still open after 10 s.
fn read_until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => Some(rest),
        Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => Some(rest),
        Err(_) => None,
    }
}

#[test]
fn silent_and_half_sent_heads_are_answered_408_and_closed() {
    let server = strict_server(64);
    let mut silent = connect(server.addr());
    let mut partial = connect(server.addr());
    partial
        .write_all(b"POST /v1/datasets/ HTTP/1.1\r\nhost: t\r\ncontent-le")
        .unwrap();
    for stream in [&mut silent, &mut partial] {
        let rest = read_until_closed(stream).expect("the server closes the connection");
        let text = String::from_utf8_lossy(&rest);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        let body = text.split("\r\n\r\n").nth(1).unwrap();
        let detail: Value = serde_json::from_str(body).unwrap();
        assert!(
            detail["detail"]
                .as_str()
                .unwrap()
                .contains("did not arrive in time")
        );
    }
    assert_healthy(&server);
}

/// Every kind of door that reads a body: the API's, OTLP's and the UI's
/// forms (the keyless sign-in among them), with a content type each takes.
const BODY_DOORS: [(&str, &str); 5] = [
    ("/v1/datasets/qa/cases/", "application/json"),
    ("/v1/traces", "application/x-protobuf"),
    ("/v1/logs", "application/json"),
    ("/ui/sign-in", "application/x-www-form-urlencoded"),
    ("/ui/datasets/new", "application/x-www-form-urlencoded"),
];

#[test]
fn a_stalled_body_is_answered_408_and_stores_nothing() {
    let server = strict_server(64);
    assert_eq!(
        post(&server, "/v1/datasets/", &json!({"name": "qa"})).status,
        201
    );
    for (path, content_type) in BODY_DOORS {
        let mut stream = connect(server.addr());
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {}\r\n\
             content-type: {content_type}\r\ncontent-length: 1000\r\n\r\n{{",
            server.api_key()
        );
        stream.write_all(head.as_bytes()).unwrap();
        let started = Instant::now();
        let answer = read_answer(&mut stream).expect("an answer");
        assert_eq!(answer.status, 408, "{path}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path}: {:?}",
            started.elapsed()
        );
        assert_eq!(answer.header("connection"), Some("close"), "{path}");
        assert_eq!(
            answer.header("content-type"),
            Some("application/json"),
            "{path}"
        );
        assert!(
            answer.json()["detail"]
                .as_str()
                .unwrap()
                .contains("stalled"),
            "{path}"
        );
        assert!(read_until_closed(&mut stream).is_some(), "{path}");
    }
    assert_eq!(case_count(&server, "qa"), 0);
    assert_healthy(&server);
}

#[test]
fn an_announced_body_over_the_limit_is_413_before_it_is_sent() {
    // A long body timeout: the answer must not wait for it.
    let server =
        EmbeddedServer::with_config(ServerConfig::default().body_timeout(Duration::from_secs(60)))
            .unwrap();
    assert_eq!(
        post(&server, "/v1/datasets/", &json!({"name": "qa"})).status,
        201
    );
    for (path, content_type) in [("/v1/datasets/qa/cases/bulk/", "application/json")]
        .into_iter()
        .chain(BODY_DOORS)
    {
        let mut stream = connect(server.addr());
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {}\r\n\
             content-type: {content_type}\r\ncontent-length: 41943040\r\n\r\n",
            server.api_key()
        );
        stream.write_all(head.as_bytes()).unwrap();
        let started = Instant::now();
        let answer = read_answer(&mut stream).expect("an answer");
        assert_eq!(answer.status, 413, "{path}");
        assert!(started.elapsed() < Duration::from_secs(5), "{path}");
        assert_eq!(
            answer.header("content-type"),
            Some("application/json"),
            "{path}"
        );
        assert!(
            answer.json()["detail"].as_str().unwrap().contains("limit"),
            "{path}"
        );
    }
    assert_eq!(case_count(&server, "qa"), 0);
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let server = strict_server(64);
    let mut stream = connect(server.addr());
    for _ in 0..2 {
        // Requests on one connection keep it open while it is used.
        stream
            .write_all(b"GET /health HTTP/1.1\r\nhost: t\r\n\r\n")
            .unwrap();
        assert_eq!(read_answer(&mut stream).expect("an answer").status, 200);
    }
    assert_eq!(read_until_closed(&mut stream), Some(Vec::new()));
}

#[test]
fn connections_past_the_cap_wait_until_others_close() {
    let server = strict_server(2);
    let mut silent: Vec<TcpStream> = (0..2).map(|_| connect(server.addr())).collect();
    let connected = Instant::now();
    std::thread::sleep(Duration::from_millis(100));
    // A third client: accepted only when a silent one is closed by its
    // head timeout, so its answer comes after their 408s.
    let addr = server.addr();
    let third = std::thread::spawn(move || {
        let mut stream = connect(addr);
        stream
            .write_all(b"GET /health HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
            .unwrap();
        let answer = read_answer(&mut stream).expect("an answer");
        (answer.status, Instant::now())
    });
    for stream in &mut silent {
        read_until_closed(stream).expect("closed by the head timeout");
    }
    let (status, answered) = third.join().unwrap();
    assert_eq!(status, 200);
    // The silent ones were accepted before `connected` and are closed 800 ms
    // after; the third waits for one of them (comparing with the instant a
    // close was seen on this thread would race with the third's thread).
    assert!(
        answered.duration_since(connected) >= Duration::from_millis(750),
        "the third connection was served {:?} after the others connected, before any \
         could have closed",
        answered.duration_since(connected)
    );
}

/// A server whose connections are few and whose timeouts are the defaults
/// (60 s keep-alive, 20 s body): only pressure can free its connections soon.
fn scarce_server(max_connections: usize) -> EmbeddedServer {
    EmbeddedServer::with_config(ServerConfig::default().max_connections(max_connections)).unwrap()
}

/// A client's `/health` on a new connection: its status and how long it took.
fn health_on_new_connection(addr: SocketAddr) -> (u16, Duration) {
    let started = Instant::now();
    let mut stream = connect(addr);
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        .unwrap();
    let answer = read_answer(&mut stream).expect("an answer");
    (answer.status, started.elapsed())
}

#[test]
fn idle_keep_alive_connections_give_way_to_new_clients() {
    let server = scarce_server(10);
    // Ten clients take every connection, make one request each, and idle.
    let idle: Vec<TcpStream> = (0..10)
        .map(|_| {
            let mut stream = connect(server.addr());
            stream
                .write_all(b"GET /health HTTP/1.1\r\nhost: t\r\n\r\n")
                .unwrap();
            assert_eq!(read_answer(&mut stream).expect("an answer").status, 200);
            stream
        })
        .collect();
    let (status, took) = health_on_new_connection(server.addr());
    assert_eq!(status, 200);
    assert!(
        took < Duration::from_secs(3),
        "a new client waited {took:?}"
    );
    drop(idle);
}

#[test]
fn stalled_bodies_give_way_to_new_clients_under_pressure() {
    let server = scarce_server(10);
    // Ten keyless sign-ins announcing 1,000 bytes and sending one.
    let mut stalled: Vec<TcpStream> = (0..10)
        .map(|_| {
            let mut stream = connect(server.addr());
            stream
                .write_all(
                    b"POST /ui/sign-in HTTP/1.1\r\nhost: t\r\n\
                      content-type: application/x-www-form-urlencoded\r\n\
                      content-length: 1000\r\n\r\nk",
                )
                .unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let (status, took) = health_on_new_connection(server.addr());
    assert_eq!(status, 200);
    // The 2 s pressure timeout, not the 20 s body timeout.
    assert!(
        took < Duration::from_secs(5),
        "a new client waited {took:?}"
    );
    // The ones shed for it were answered 408; once connections are free
    // again, the rest keep the normal body timeout.
    let mut shed = 0;
    for stream in &mut stalled {
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        if let Some(answer) = read_answer(stream) {
            assert_eq!(answer.status, 408);
            shed += 1;
        }
    }
    assert!(shed >= 1, "no stalled body was shed");
}

#[test]
fn every_error_is_json_with_a_detail() {
    let (server, case_id) = server_with_dataset();
    // (method, path, header lines, body, status, the detail when it is a text)
    type Attempt<'a> = (
        &'a str,
        String,
        Vec<&'a str>,
        &'a [u8],
        u16,
        Option<&'a str>,
    );
    let requests: Vec<Attempt<'_>> = vec![
        (
            "GET",
            "/v1/datasets/%FF%FE/".into(),
            vec![],
            b"",
            404,
            Some("Dataset not found"),
        ),
        (
            "GET",
            "/v1/datasets/%FF%FE/cases/".into(),
            vec![],
            b"",
            404,
            Some("Dataset not found"),
        ),
        (
            "GET",
            "/v1/datasets/qa/cases/%FF/".into(),
            vec![],
            b"",
            404,
            Some("Case not found"),
        ),
        (
            "DELETE",
            "/v1/datasets/%C3%28/".into(),
            vec![],
            b"",
            404,
            Some("Dataset not found"),
        ),
        (
            "PATCH",
            format!("/v1/datasets/%FF/cases/{case_id}/"),
            vec!["content-type: application/json"],
            b"{}",
            404,
            Some("Dataset not found"),
        ),
        ("GET", "/v1/nothing-here".into(), vec![], b"", 404, None),
        ("PUT", "/v1/datasets/".into(), vec![], b"", 405, None),
        (
            "POST",
            "/v1/datasets/qa/cases/".into(),
            vec!["content-type: text/plain"],
            br#"{"inputs": 1}"#,
            422,
            None,
        ),
        (
            "POST",
            "/v1/datasets/qa/cases/".into(),
            vec!["content-type: application/x-www-form-urlencoded"],
            b"inputs=1",
            422,
            None,
        ),
        (
            "POST",
            "/v1/datasets/qa/cases/".into(),
            vec![],
            b"{",
            400,
            None,
        ),
        (
            "POST",
            "/v1/datasets/qa/cases/".into(),
            vec!["idempotency-key: has space"],
            br#"{"inputs": 1}"#,
            400,
            None,
        ),
        (
            "PATCH",
            format!("/v1/datasets/qa/cases/{case_id}/"),
            vec!["if-match: nope"],
            b"{}",
            400,
            None,
        ),
        (
            "GET",
            "/v1/datasets/qa/cases/?limit=0".into(),
            vec![],
            b"",
            422,
            None,
        ),
    ];
    for (method, path, headers, body, status, detail) in requests {
        let answer = request(&server, method, &path, &headers, body);
        assert_eq!(
            answer.status,
            status,
            "{method} {path}: {:?}",
            String::from_utf8_lossy(&answer.body)
        );
        assert!(
            answer
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "{method} {path}: {:?}",
            answer.headers
        );
        let json = answer.json();
        assert!(json.get("detail").is_some(), "{method} {path}: {json}");
        if let Some(detail) = detail {
            assert_eq!(json["detail"], detail, "{method} {path}");
        }
    }
    // Without a key too.
    let mut stream = connect(server.addr());
    stream
        .write_all(b"GET /v1/datasets/ HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        .unwrap();
    let answer = read_answer(&mut stream).unwrap();
    assert_eq!(
        (answer.status, answer.json()["detail"].is_string()),
        (401, true)
    );
    assert_eq!(case_count(&server, "qa"), 1);
}

#[test]
fn content_types_other_than_json_are_refused_at_the_body() {
    let (server, _) = server_with_dataset();
    for content_type in [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/jsonx",
    ] {
        let header = format!("content-type: {content_type}");
        let answer = request(
            &server,
            "POST",
            "/v1/datasets/qa/cases/",
            &[&header],
            br#"{"inputs": 1}"#,
        );
        assert_eq!(
            (answer.status, answer.loc()),
            (422, json!(["body"])),
            "{content_type}"
        );
        assert!(
            answer.json()["detail"][0]["msg"]
                .as_str()
                .unwrap()
                .contains("application/json")
        );
    }
    assert_eq!(case_count(&server, "qa"), 1);
    for content_type in [
        None,
        Some("application/json"),
        Some("Application/JSON; charset=utf-8"),
        Some("application/vnd.api+json"),
    ] {
        let header = content_type.map(|t| format!("content-type: {t}"));
        let headers: Vec<&str> = header.iter().map(String::as_str).collect();
        let answer = request(
            &server,
            "POST",
            "/v1/datasets/qa/cases/",
            &headers,
            br#"{"inputs": 1}"#,
        );
        assert_eq!(answer.status, 201, "{content_type:?}");
    }
    assert_eq!(case_count(&server, "qa"), 5);
}

#[test]
fn a_cursor_pages_only_the_listing_that_gave_it() {
    let server = EmbeddedServer::start().unwrap();
    for name in ["a", "b"] {
        assert_eq!(
            post(&server, "/v1/datasets/", &json!({"name": name})).status,
            201
        );
        let cases: Vec<Value> = (0..5)
            .map(|i| json!({"inputs": i, "tags": if i % 2 == 0 { vec!["even"] } else { vec!["odd"] }}))
            .collect();
        assert_eq!(
            post(
                &server,
                &format!("/v1/datasets/{name}/cases/bulk/"),
                &json!({"cases": cases})
            )
            .status,
            201
        );
    }
    let first = get(&server, "/v1/datasets/a/cases/?limit=2");
    let cursor = first.header("next-cursor").unwrap().to_owned();
    let tagged = get(&server, "/v1/datasets/a/cases/?limit=1&tags=even&tags=odd");
    let tagged_cursor = tagged.header("next-cursor").unwrap().to_owned();
    // The same listing goes on.
    let next = get(
        &server,
        &format!("/v1/datasets/a/cases/?limit=2&cursor={cursor}"),
    );
    assert_eq!(next.status, 200);
    assert_eq!(next.json()[0]["inputs"], 2);
    let same_tags = get(
        &server,
        &format!("/v1/datasets/a/cases/?limit=1&tags=odd&tags=even&cursor={tagged_cursor}"),
    );
    assert_eq!(same_tags.status, 200);
    // Another dataset, another tag filter, another project: refused.
    let other_key = server
        .create_key("other", datasets_server::auth::Scopes::READ_WRITE)
        .unwrap();
    let mut stream = connect(server.addr());
    let body = br#"{"name": "a"}"#;
    stream
        .write_all(
            format!(
                "POST /v1/datasets/ HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {other_key}\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
    stream.write_all(body).unwrap();
    assert_eq!(read_answer(&mut stream).unwrap().status, 201);
    for path in [
        format!("/v1/datasets/b/cases/?limit=2&cursor={cursor}"),
        format!("/v1/datasets/a/cases/?limit=2&tags=even&cursor={cursor}"),
        format!("/v1/datasets/a/cases/?limit=2&cursor={tagged_cursor}"),
        format!("/v1/datasets/a/cases/?limit=2&tags=even&cursor={tagged_cursor}"),
        format!("/v1/datasets/a/cases/?cursor={cursor}x"),
        "/v1/datasets/a/cases/?cursor=v1.5".to_owned(),
    ] {
        let answer = get(&server, &path);
        assert_eq!(
            (answer.status, answer.loc()),
            (422, json!(["query", "cursor"])),
            "{path}"
        );
    }
    let mut stream = connect(server.addr());
    stream
        .write_all(
            format!(
                "GET /v1/datasets/a/cases/?limit=2&cursor={cursor} HTTP/1.1\r\nhost: t\r\n\
                 authorization: Bearer {other_key}\r\nconnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let answer = read_answer(&mut stream).unwrap();
    assert_eq!(
        (answer.status, answer.loc()),
        (422, json!(["query", "cursor"]))
    );
}

/// The UI's cookies are marked `Secure` when the server is reached over
/// HTTPS, as configured: always, or when a trusted proxy says so in
/// `X-Forwarded-Proto`; never by default (plain HTTP would drop them).
#[test]
fn ui_cookies_are_secure_when_reached_over_https() {
    use datasets_server::SecureCookies;
    let cookies = |server: &EmbeddedServer, headers: &[&str]| -> Vec<String> {
        let answer = request(server, "GET", "/ui/sign-in", headers, b"");
        assert_eq!(answer.status, 200);
        answer
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.clone())
            .collect()
    };
    let secure = |cookies: &[String]| {
        assert!(!cookies.is_empty());
        cookies.iter().all(|c| c.ends_with("; Secure"))
    };
    let plain = EmbeddedServer::start().unwrap();
    assert!(!cookies(&plain, &[]).iter().any(|c| c.contains("Secure")));
    assert!(
        !cookies(&plain, &["x-forwarded-proto: https"])
            .iter()
            .any(|c| c.contains("Secure")),
        "a forwarded header is not trusted unless configured"
    );
    let always =
        EmbeddedServer::with_config(ServerConfig::default().secure_cookies(SecureCookies::Always))
            .unwrap();
    assert!(secure(&cookies(&always, &[])));
    let proxied = EmbeddedServer::with_config(
        ServerConfig::default().secure_cookies(SecureCookies::WhenForwardedHttps),
    )
    .unwrap();
    assert!(secure(&cookies(&proxied, &["x-forwarded-proto: https"])));
    assert!(!secure(&cookies(&proxied, &["x-forwarded-proto: http"])));
    assert!(!secure(&cookies(&proxied, &[])));
}
