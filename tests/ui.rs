//! The web UI in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, over WebDriver) against the real server: sign-in and
//! sign-out, sessions, the datasets, a dataset's cases paged and filtered,
//! a case, stored markup rendered as text, forms refused without their
//! CSRF token, a read-only key, and the security headers. Without Chromium
//! the browser tests say they were skipped, except under `CI=true`.

mod support;
#[path = "support/webdriver.rs"]
mod webdriver;

use datasets::DatasetsClient;
use datasets::wire::NewCase;
use datasets_server::EmbeddedServer;
use datasets_server::auth::Scopes;
use serde_json::json;
use webdriver::Browser;

const SCRIPT: &str = "<script>alert('xss')</script>";
const ATTRIBUTE: &str = "\"><img src=x onerror=alert('xss')>";

/// A server with `qa` (120 cases, every 10th tagged `hard`) and markup in
/// every field a user writes.
fn server() -> EmbeddedServer {
    let server = EmbeddedServer::start().unwrap();
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        client
            .create_dataset("qa")
            .description(format!("Golden set {SCRIPT}"))
            .guidance(format!("Be careful {ATTRIBUTE}"))
            .input_schema(json!({"type": "object", "title": SCRIPT}))
            .await
            .unwrap();
        let mut cases: Vec<NewCase> = (0..120)
            .map(|i| NewCase {
                name: Some(format!("case-{i:03}")),
                tags: Some(if i % 10 == 0 {
                    vec!["hard".into()]
                } else {
                    vec![]
                }),
                ..NewCase::new(json!({"question": format!("q{i}")}))
            })
            .collect();
        cases.push(NewCase {
            name: Some(ATTRIBUTE.to_owned()),
            expected_output: Some(json!(SCRIPT)),
            tags: Some(vec![SCRIPT.to_owned()]),
            ..NewCase::new(json!({"question": SCRIPT, "html": ATTRIBUTE}))
        });
        client.add_cases("qa", cases).await.unwrap();
    });
    server
}

fn sign_in(browser: &Browser, server: &EmbeddedServer, key: &str) {
    browser.goto(&format!("{}/ui/", server.base_url()));
    assert!(browser.url().ends_with("/ui/sign-in"), "{}", browser.url());
    let field = browser.find("#key");
    browser.type_into(&field, key);
    browser.follow(&browser.find("form button[type=submit]"));
}

fn sign_in_refused(browser: &Browser, server: &EmbeddedServer, key: &str) {
    browser.goto(&format!("{}/ui/", server.base_url()));
    let field = browser.find("#key");
    browser.type_into(&field, key);
    browser.click(&browser.find("form button[type=submit]"));
    browser.wait_for("#key-error");
}

/// No dialog opened and no element was injected by stored markup.
fn assert_inert(browser: &Browser) {
    assert_eq!(
        browser.alert(),
        None,
        "a dialog opened on {}",
        browser.url()
    );
    assert_eq!(browser.all("img").len(), 0, "an element was injected");
    assert_eq!(browser.all("main script").len(), 0, "a script was injected");
}

#[test]
fn a_user_signs_in_browses_pages_of_cases_and_signs_out() {
    let Some((chromium, driver)) = webdriver::browser() else {
        return;
    };
    let server = server();
    let browser = Browser::start(chromium, driver, 1280, 900);

    // A wrong key: the form says so, at the field.
    sign_in_refused(&browser, &server, "dsk_wrong");
    assert!(browser.url().ends_with("/ui/sign-in"));
    let error = browser.find("#key-error");
    assert!(browser.text(&error).contains("unknown or revoked"));
    assert_eq!(
        browser
            .attribute(&browser.find("#key"), "aria-describedby")
            .as_deref(),
        Some("key-error")
    );

    sign_in(&browser, &server, server.api_key());
    assert!(browser.url().ends_with("/ui/"), "{}", browser.url());
    assert!(
        browser
            .body_text()
            .contains("Golden set <script>alert('xss')</script>")
    );
    assert_inert(&browser);

    // The dataset: its cases 50 a page, in order, the markup as text.
    browser.follow(&browser.link("qa"));
    assert_eq!(browser.title(), "qa · datasets");
    assert!(
        browser
            .body_text()
            .contains(&format!("Be careful {ATTRIBUTE}"))
    );
    assert_inert(&browser);
    let mut names = Vec::new();
    loop {
        for cell in browser.all("tbody tr td:first-child a") {
            names.push(browser.text(&cell));
        }
        match browser.all("a[rel=next]").first() {
            Some(next) => browser.follow(next),
            None => break,
        }
    }
    assert_eq!(names.len(), 121);
    assert_eq!(names[0], "case-000");
    assert_eq!(names[119], "case-119");
    assert_eq!(names[120], ATTRIBUTE);

    // Filtered by tag, through the form.
    browser.goto(&format!("{}/ui/datasets/qa/", server.base_url()));
    browser.type_into(&browser.find("#tag"), "hard");
    browser.follow(&browser.find("form.filter button"));
    let hard: Vec<String> = browser
        .all("tbody tr td:first-child a")
        .iter()
        .map(|cell| browser.text(cell))
        .collect();
    assert_eq!(hard.len(), 12);
    assert!(hard.iter().all(|name| name.ends_with('0')), "{hard:?}");

    // Searched by the start of the name, in name order, over pages.
    browser.goto(&format!("{}/ui/datasets/qa/", server.base_url()));
    browser.type_into(&browser.find("#name"), "case-11");
    browser.follow(&browser.find("form.filter button"));
    let found: Vec<String> = browser
        .all("tbody tr td:first-child a")
        .iter()
        .map(|cell| browser.text(cell))
        .collect();
    assert_eq!(
        found,
        (110..120).map(|i| format!("case-{i}")).collect::<Vec<_>>()
    );
    browser.goto(&format!("{}/ui/datasets/qa/?name=case-", server.base_url()));
    let mut searched = 0;
    loop {
        searched += browser.all("tbody tr").len();
        match browser.all("a[rel=next]").first() {
            Some(next) => browser.follow(next),
            None => break,
        }
    }
    assert_eq!(searched, 120);

    // The case with markup everywhere.
    browser.goto(&format!("{}/ui/datasets/qa/", server.base_url()));
    while let Some(next) = browser.all("a[rel=next]").first() {
        browser.follow(next);
    }
    browser.follow(&browser.link(ATTRIBUTE));
    let text = browser.body_text();
    assert!(text.contains(SCRIPT), "{text}");
    assert!(text.contains("onerror=alert"), "{text}");
    assert_inert(&browser);

    // Sign out: the session is over, the pages send to the sign-in form.
    browser.follow(&browser.find("header form button"));
    assert!(
        browser.url().ends_with("/ui/sign-in"),
        "{}: {}",
        browser.url(),
        browser.body_text()
    );
    browser.goto(&format!("{}/ui/datasets/qa/", server.base_url()));
    assert!(browser.url().ends_with("/ui/sign-in"));
}

/// The screenshots in docs/screenshots, made when `DATASETS_SCREENSHOTS`
/// names the folder to write them to.
#[test]
fn screenshots_of_the_main_pages() {
    use datasets::eval::{Dataset, EqualsExpected};
    let Some(folder) = std::env::var_os("DATASETS_SCREENSHOTS") else {
        return;
    };
    let Some((chromium, driver)) = webdriver::browser() else {
        return;
    };
    let server = server();
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (case, first, second) = runtime.block_on(async {
        let case = client
            .list_cases("qa")
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.name.as_deref() == Some("case-007"))
            .unwrap();
        client
            .update_case("qa", case.id)
            .inputs(json!({"question": "What is 15 * 23?"}))
            .tags(["math", "hard"])
            .await
            .unwrap();
        let local: Dataset<String, String, ()> = Dataset::new(
            "qa",
            (0..6)
                .map(|i| {
                    datasets::Case::new(format!("q{i}"))
                        .name(format!("case-00{i}"))
                        .expected_output(format!("Q{i}"))
                })
                .collect(),
        );
        let run = |broken: usize| {
            local
                .evaluate(move |q: String| async move {
                    if q == format!("q{broken}") {
                        q
                    } else {
                        q.to_uppercase()
                    }
                })
                .name(format!("model-v{}", 3 - broken))
                .evaluator(EqualsExpected::default())
                .progress(false)
        };
        let v1 = run(2).await.record(&client).await.unwrap();
        let v2 = run(1).await.record(&client).await.unwrap();
        (case, v1, v2)
    });
    let pages = [
        ("/ui/".to_owned(), "datasets"),
        ("/ui/datasets/qa/".to_owned(), "dataset"),
        (format!("/ui/datasets/qa/cases/{}/", case.id), "case"),
        (
            format!("/ui/datasets/qa/cases/{}/edit", case.id),
            "case-edit",
        ),
        ("/ui/datasets/qa/versions/".to_owned(), "versions"),
        ("/ui/datasets/qa/diff?from=2&to=3".to_owned(), "diff"),
        (
            format!(
                "/ui/experiments/compare?base={}&candidate={}",
                first.id, second.id
            ),
            "comparison",
        ),
    ];
    for (width, height, suffix) in [(1280, 900, "desktop"), (390, 844, "phone")] {
        let browser = Browser::start(chromium, driver, width, height);
        sign_in(&browser, &server, server.api_key());
        for (path, name) in &pages {
            browser.goto(&format!("{}{path}", server.base_url()));
            if *name == "case-edit" {
                // The server's 422 at its field.
                browser.script("document.getElementById('inputs').value = '[1, 2]'");
                browser.click(&browser.find("main form button[type=submit]"));
                browser.wait_for(".error");
            }
            std::fs::write(
                std::path::Path::new(&folder).join(format!("{name}-{suffix}.png")),
                browser.screenshot(),
            )
            .unwrap();
        }
    }
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in over plain HTTP and gives the session cookie and the CSRF
/// token of its forms.
fn session(server: &EmbeddedServer, key: &str) -> (String, String) {
    let http = http();
    let form = http
        .get(format!("{}/ui/sign-in", server.base_url()))
        .send()
        .unwrap();
    let pre = form.headers()["set-cookie"].to_str().unwrap().to_owned();
    let pre = pre.split(';').next().unwrap().to_owned();
    let token = pre.split_once('=').unwrap().1.to_owned();
    let signed_in = http
        .post(format!("{}/ui/sign-in", server.base_url()))
        .header("cookie", &pre)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={token}&key={key}"))
        .send()
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("ds_session="))
        .unwrap()
        .to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Max-Age=43200", "Path=/ui"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let page = http
        .get(format!("{}/ui/", server.base_url()))
        .header("cookie", &cookie)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

#[test]
fn forms_without_their_token_are_refused_and_sessions_end_with_their_key() {
    let server = server();
    let http = http();
    let base = server.base_url();
    // Sign-in without the token that matches its cookie: 403, no session.
    let response = http
        .post(format!("{base}/ui/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("key={}", server.api_key()))
        .send()
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.headers().get("set-cookie").is_none());
    let response = http
        .post(format!("{base}/ui/sign-in"))
        .header("cookie", "ds_signin=abc")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf=abd&key={}", server.api_key()))
        .send()
        .unwrap();
    assert_eq!(response.status(), 403);

    // Sign-out without the session's token: 403, and the session lives on.
    let (cookie, csrf) = session(&server, server.api_key());
    let response = http
        .post(format!("{base}/ui/sign-out"))
        .header("cookie", &cookie)
        .body("csrf=wrong")
        .send()
        .unwrap();
    assert_eq!(response.status(), 403);
    let page = http
        .get(format!("{base}/ui/"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    // Every page sends the security headers.
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    // With it, sign-out ends the session.
    let response = http
        .post(format!("{base}/ui/sign-out"))
        .header("cookie", &cookie)
        .body(format!("csrf={csrf}"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 303);
    let page = http
        .get(format!("{base}/ui/"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/ui/sign-in");

    // Revoking the key ends its sessions.
    let reader = server.create_key("default", Scopes::READ_ONLY).unwrap();
    let (cookie, _) = session(&server, &reader);
    let page = http
        .get(format!("{base}/ui/"))
        .header("cookie", &cookie)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("(read-only)"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let state = server.state().clone();
    let hash = datasets_server::auth::hash_key(&reader);
    runtime.block_on(async {
        let key = state.store.find_key(&hash).await.unwrap().unwrap();
        assert!(state.store.revoke_key(key.id).await.unwrap());
    });
    let page = http
        .get(format!("{base}/ui/"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(page.status(), 303);

    // `/` goes to the UI; a forged or unknown session cookie to sign-in.
    let root = http.get(format!("{base}/")).send().unwrap();
    assert_eq!(root.headers()["location"], "/ui/");
    let forged = http
        .get(format!("{base}/ui/"))
        .header("cookie", "ds_session=00")
        .send()
        .unwrap();
    assert_eq!(forged.headers()["location"], "/ui/sign-in");
}

#[test]
fn no_ui_serves_the_api_alone() {
    let server =
        EmbeddedServer::with_config(datasets_server::ServerConfig::default().ui(false)).unwrap();
    let http = http();
    for path in ["/", "/ui/", "/ui/sign-in"] {
        let response = http
            .get(format!("{}{path}", server.base_url()))
            .send()
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
}

#[test]
fn a_user_creates_a_dataset_adds_edits_and_deletes_a_case() {
    let Some((chromium, driver)) = webdriver::browser() else {
        return;
    };
    let server = EmbeddedServer::start().unwrap();
    let browser = Browser::start(chromium, driver, 1280, 900);
    sign_in(&browser, &server, server.api_key());
    let base = server.base_url();

    // A dataset with a schema; a schema that is no JSON Schema first.
    browser.follow(&browser.link("New dataset"));
    browser.type_into(&browser.find("#name"), "support");
    browser.type_into(&browser.find("#input_schema"), r#"{"type": "objekt"}"#);
    browser.click(&browser.find("main form button[type=submit]"));
    let error = browser.wait_for("#input_schema-error");
    assert!(
        browser.text(&error).contains("not a valid JSON Schema")
            && browser
                .text(&error)
                .contains("\"objekt\" at /type is not a JSON type; expected one of")
            && browser.text(&error).contains("did you mean \"object\"?"),
        "{}",
        browser.text(&error)
    );
    assert_eq!(
        browser
            .attribute(&browser.find("#input_schema"), "aria-describedby")
            .as_deref(),
        Some("input_schema-error")
    );
    browser.script("document.getElementById('input_schema').value = ''");
    browser.type_into(
        &browser.find("#input_schema"),
        r#"{"type": "object", "properties": {"question": {"type": "string", "minLength": 3},
            "priority": {"type": "integer"}, "urgent": {"type": "boolean"}},
            "required": ["question"]}"#,
    );
    browser.follow(&browser.find("main form button[type=submit]"));
    assert!(browser.url().contains("/ui/datasets/"), "{}", browser.url());
    assert_eq!(browser.title(), "support · datasets");

    // A case through the form generated from the schema; the server's 422
    // is shown at the field its loc names.
    browser.follow(&browser.link("Add a case"));
    browser.type_into(&browser.find("#name"), "refund");
    browser.type_into(&browser.find("#inputs-question"), "Hi");
    browser.type_into(&browser.find("#inputs-priority"), "high");
    browser.type_into(&browser.find("#tags"), "billing, urgent");
    browser.click(&browser.find("main form button[type=submit]"));
    let priority = browser.wait_for("#inputs-priority-error");
    assert!(
        browser.text(&priority).contains("integer"),
        "{}",
        browser.text(&priority)
    );
    let question = browser.find("#inputs-question-error");
    assert!(
        browser.text(&question).contains("shorter than 3"),
        "{}",
        browser.text(&question)
    );
    assert_eq!(
        browser
            .attribute(&browser.find("#inputs-priority"), "aria-describedby")
            .as_deref(),
        Some("inputs-priority-error")
    );
    // What was typed is kept.
    assert_eq!(
        browser
            .attribute(&browser.find("#inputs-priority"), "value")
            .as_deref(),
        Some("high")
    );
    browser.script(
        "document.getElementById('inputs-question').value = 'Where is my refund?';
         document.getElementById('inputs-priority').value = '2';",
    );
    browser.click(&browser.find("#inputs-urgent"));
    browser.follow(&browser.find("main form button[type=submit]"));
    let text = browser.body_text();
    assert!(text.contains("Where is my refund?"), "{text}");
    let shown: Vec<String> = browser
        .all("main .value dl.keys > div")
        .iter()
        .map(|row| {
            browser
                .text(row)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert!(shown.iter().any(|row| row == "priority 2"), "{shown:?}");
    assert!(shown.iter().any(|row| row == "urgent true"), "{shown:?}");
    let case_url = browser.url();

    // The dataset edited: a schema its case no longer fits is refused,
    // saying so where it applies; a description is saved.
    browser.goto(&format!("{base}/ui/datasets/support/"));
    browser.follow(&browser.link("Edit the dataset"));
    browser.script(
        "document.getElementById('input_schema').value =          '{\"type\": \"object\", \"required\": [\"customer\"]}'",
    );
    browser.click(&browser.find("main form button[type=submit]"));
    let refusal = browser.wait_for_text("was not saved");
    assert!(refusal.contains("customer"), "{refusal}");
    browser.goto(&format!("{base}/ui/datasets/support/"));
    browser.follow(&browser.link("Edit the dataset"));
    browser.type_into(&browser.find("#description"), "Support questions");
    browser.follow(&browser.find("main form button[type=submit]"));
    assert!(browser.body_text().contains("Support questions"));
    browser.goto(&case_url);

    // Two editors: the case changes after this one opened it.
    browser.follow(&browser.link("Edit"));
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(&base)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let case_id: uuid::Uuid = case_url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    runtime.block_on(async {
        client
            .update_case("support", case_id)
            .name("refund-request")
            .await
            .unwrap();
    });
    browser.script("document.getElementById('inputs-question').value = 'Changed here too'");
    browser.click(&browser.find("main form button[type=submit]"));
    let conflict = browser.wait_for("#conflict");
    assert!(
        browser
            .text(&conflict)
            .contains("changed since you opened it")
    );
    let stored = runtime.block_on(async { client.get_case("support", case_id).await.unwrap() });
    assert_eq!(
        stored.name.as_deref(),
        Some("refund-request"),
        "the other edit stands"
    );
    assert_eq!(stored.inputs["question"], "Where is my refund?");

    // Edited from a fresh form, then deleted after the confirmation.
    browser.goto(&case_url);
    browser.follow(&browser.link("Edit"));
    browser.script("document.getElementById('inputs-question').value = 'Where is my money?'");
    browser.follow(&browser.find("main form button[type=submit]"));
    assert!(browser.body_text().contains("Where is my money?"));
    browser.follow(&browser.link("Delete…"));
    assert!(browser.body_text().contains("Delete refund-request?"));
    browser.follow(&browser.find("button.danger"));
    assert!(browser.body_text().contains("No cases"));
    let left = runtime.block_on(async { client.get_dataset("support").await.unwrap() });
    assert_eq!(left.case_count, 0);
}

#[test]
fn a_read_only_key_sees_no_write_controls_and_its_posts_are_refused() {
    let server = server();
    let reader = server.create_key("default", Scopes::READ_ONLY).unwrap();
    let (cookie, csrf) = session(&server, &reader);
    let http = http();
    let base = server.base_url();
    let page = |path: &str| {
        http.get(format!("{base}{path}"))
            .header("cookie", &cookie)
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let datasets = page("/ui/");
    assert!(datasets.contains("(read-only)") && !datasets.contains("New dataset"));
    let dataset = page("/ui/datasets/qa/");
    assert!(!dataset.contains("Add a case") && !dataset.contains("Edit the dataset"));
    assert!(!page("/ui/datasets/qa/versions/").contains("Tag a version"));
    let case = dataset
        .split("/cases/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let case_page = page(&format!("/ui/datasets/qa/cases/{case}/"));
    assert!(!case_page.contains("/edit") && !case_page.contains("/delete"));
    for path in [
        "/ui/datasets/new".to_owned(),
        "/ui/datasets/qa/cases/new".to_owned(),
        format!("/ui/datasets/qa/cases/{case}/edit"),
        format!("/ui/datasets/qa/cases/{case}/delete"),
        "/ui/datasets/qa/edit".to_owned(),
        "/ui/datasets/qa/versions/tag".to_owned(),
    ] {
        let response = http
            .post(format!("{base}{path}"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}&name=x&inputs=%7B%7D&version=1&tag=t"))
            .send()
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
    // And a writer's form posted without its token changes nothing either.
    let (cookie, _) = session(&server, server.api_key());
    let response = http
        .post(format!("{base}/ui/datasets/qa/cases/{case}/delete"))
        .header("cookie", &cookie)
        .body("version=1")
        .send()
        .unwrap();
    assert_eq!(response.status(), 403);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(&base)
        .build()
        .unwrap();
    let count = runtime.block_on(async { client.get_dataset("qa").await.unwrap().case_count });
    assert_eq!(count, 121);
}

#[test]
fn versions_a_diff_and_an_experiment_comparison() {
    use datasets::eval::{Dataset, EqualsExpected};
    let Some((chromium, driver)) = webdriver::browser() else {
        return;
    };
    let server = server();
    let base = server.base_url();
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(&base)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (first, second) = runtime.block_on(async {
        // Version 3 changes one case.
        let case = client
            .list_cases("qa")
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.name.as_deref() == Some("case-007"))
            .unwrap();
        client
            .update_case("qa", case.id)
            .inputs(json!({"question": "changed <b>here</b>"}))
            .await
            .unwrap();
        // Two runs on `qa`: the second fixes one case and breaks another.
        let local: Dataset<String, String, ()> = Dataset::new(
            "qa",
            vec![
                datasets::Case::new("a".to_owned())
                    .name("fixed")
                    .expected_output("A".to_owned()),
                datasets::Case::new("b".to_owned())
                    .name("broken")
                    .expected_output("B".to_owned()),
            ],
        );
        let v1 = local
            .evaluate(|q: String| async move { if q == "a" { q } else { q.to_uppercase() } })
            .name("v1")
            .evaluator(EqualsExpected::default())
            .progress(false)
            .await;
        let v2 = local
            .evaluate(|q: String| async move { if q == "b" { q } else { q.to_uppercase() } })
            .name("v2")
            .evaluator(EqualsExpected::default())
            .progress(false)
            .await;
        (
            v1.record(&client).await.unwrap(),
            v2.record(&client).await.unwrap(),
        )
    });
    let browser = Browser::start(chromium, driver, 1280, 900);
    sign_in(&browser, &server, server.api_key());

    // Versions: tag one, see the tag, and what version 3 changed.
    browser.goto(&format!("{base}/ui/datasets/qa/"));
    browser.follow(&browser.link("Versions"));
    browser.script("document.getElementById('version').value = '2'");
    browser.type_into(&browser.find("#tag"), "release-1");
    browser.click(&browser.find("main form[method=post] button"));
    browser.wait_for_text("release-1");
    browser.follow(&browser.link("What changed"));
    assert_eq!(browser.title(), "qa: 2 → 3 · datasets");
    let text = browser.body_text();
    assert!(
        text.contains("CHANGED case-007") || text.contains("changed case-007"),
        "{text}"
    );
    assert!(
        text.contains("changed <b>here</b>") && text.contains("q7") && !text.contains("\"q7\""),
        "{text}"
    );
    assert_inert(&browser);
    assert_eq!(browser.all("main b").len(), 0, "stored markup stays text");

    // Experiments: the list, one run, and the two compared.
    browser.goto(&format!("{base}/ui/datasets/qa/"));
    browser.follow(&browser.link("Experiments"));
    let text = browser.body_text();
    assert!(text.contains("v1") && text.contains("v2"), "{text}");
    browser.follow(&browser.find("form.filter button"));
    assert!(
        browser.url().contains(&format!("base={}", first.id)),
        "{}",
        browser.url()
    );
    assert!(browser.url().contains(&format!("candidate={}", second.id)));
    let worse = browser.find("tr.worse");
    assert!(browser.text(&worse).contains("broken"));
    let better = browser.find("tr.better");
    assert!(browser.text(&better).contains("fixed"));
    // At phone width the comparison stacks: nothing to scroll sideways,
    // each result labelled with its run.
    let compare_url = browser.url();
    browser.resize(390, 844);
    browser.goto(&compare_url);
    let overflow = browser.script(
        "const s = document.querySelector('main .scroll'); return s.scrollWidth - s.clientWidth",
    );
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "the table scrolls sideways by {overflow}"
    );
    let label = browser.script(
        "return getComputedStyle(document.querySelector('table.stack td[data-label]'), '::before').content",
    );
    assert!(label.as_str().unwrap().contains("Before: v1"), "{label}");
    browser.resize(1280, 900);
    browser.goto(&format!("{base}/ui/experiments/{}/", second.id));
    let text = browser.body_text();
    assert!(text.contains("Run v2") && text.contains("50.0%"), "{text}");
}

#[test]
fn a_user_pages_through_2500_cases() {
    let Some((chromium, driver)) = webdriver::browser() else {
        return;
    };
    let server = EmbeddedServer::start().unwrap();
    let client = DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        client.create_dataset("big").await.unwrap();
        let cases = (0..2500)
            .map(|i| NewCase {
                name: Some(format!("c{i:04}")),
                ..NewCase::new(json!({"i": i}))
            })
            .collect();
        client.add_cases("big", cases).await.unwrap();
    });
    let browser = Browser::start(chromium, driver, 1280, 900);
    sign_in(&browser, &server, server.api_key());
    browser.goto(&format!("{}/ui/datasets/big/", server.base_url()));
    let (mut seen, mut pages) = (Vec::new(), 0);
    loop {
        pages += 1;
        let cells = browser.script(
            "return Array.from(document.querySelectorAll('tbody tr td:first-child a')).map(a => a.textContent)",
        );
        seen.extend(
            cells
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned()),
        );
        match browser.all("a[rel=next]").first() {
            Some(next) => browser.follow(next),
            None => break,
        }
    }
    assert_eq!(pages, 50);
    assert_eq!(
        seen,
        (0..2500).map(|i| format!("c{i:04}")).collect::<Vec<_>>()
    );
}
