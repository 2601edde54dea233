//! The web UI on real-shaped data, in a real headless Chromium against the
//! real server: cases shaped like HumanEval (multi-line Python with
//! indentation and `"""`, tabs, CR LF lines, a lone CR, trailing spaces and
//! newlines, unicode, a 100 KB prompt) are viewed, edited through the real
//! controls and saved, then read back through the API and compared byte
//! for byte: what the user did not edit never changes, and what they typed
//! is stored as typed. Without Chromium the tests say they were skipped,
//! except under `CI=true`.

mod support;
#[path = "support/webdriver.rs"]
mod webdriver;

use datasets::blocking::DatasetsClient;
use datasets::wire::NewCase;
use datasets_server::EmbeddedServer;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use webdriver::Browser;

/// A case as the API answers it, its values as the bytes it sent.
#[derive(Deserialize)]
struct RawCase {
    id: String,
    inputs: Box<RawValue>,
    expected_output: Box<RawValue>,
    metadata: Box<RawValue>,
    tags: Vec<String>,
    version: i64,
}

impl RawCase {
    fn values(&self) -> [String; 3] {
        [
            self.inputs.get().to_owned(),
            self.expected_output.get().to_owned(),
            self.metadata.get().to_owned(),
        ]
    }

    fn inputs(&self) -> Value {
        serde_json::from_str(self.inputs.get()).unwrap()
    }
}

/// The fixture's rows: HumanEval's flat keys, written here.
fn rows() -> Vec<Value> {
    include_str!("fixtures/humaneval_shaped.jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// A 100 KB prompt of indented code.
fn long_prompt() -> String {
    let mut text = String::from("def long():\n    \"\"\"A long docstring.\"\"\"\n");
    let mut i = 0;
    while text.len() < 100 * 1024 {
        text.push_str(&format!("    x_{i} = {i}  # ünïcode\t·\n"));
        i += 1;
    }
    text
}

fn case_of(row: &Value) -> NewCase {
    NewCase {
        name: Some(row["task_id"].as_str().unwrap().to_owned()),
        expected_output: Some(
            json!({"canonical_solution": row["canonical_solution"], "test": row["test"]}),
        ),
        metadata: Some(json!({"task_id": row["task_id"]})),
        ..NewCase::new(json!({"prompt": row["prompt"], "entry_point": row["entry_point"]}))
    }
}

struct Fixture {
    server: EmbeddedServer,
    client: DatasetsClient,
    http: reqwest::blocking::Client,
}

impl Fixture {
    /// `humaneval` with schemas of strings, and `flat` without schemas,
    /// both holding the fixture's cases and a 100 KB prompt.
    fn new() -> Self {
        let server = EmbeddedServer::start().unwrap();
        let client = DatasetsClient::builder()
            .api_key(server.api_key())
            .base_url(server.base_url())
            .build()
            .unwrap();
        let string = json!({"type": "string"});
        {
            client
                .create_dataset("humaneval")
                .input_schema(json!({"type": "object", "properties": {
                    "prompt": string, "entry_point": string}, "required": ["prompt", "entry_point"]}))
                .output_schema(json!({"type": "object", "properties": {
                    "canonical_solution": string, "test": string}}))
                .metadata_schema(json!({"type": "object", "properties": {"task_id": string}}))
                .send()
                .unwrap();
            client.create_dataset("flat").send().unwrap();
            let mut cases: Vec<NewCase> = rows().iter().map(case_of).collect();
            let mut long = case_of(&rows()[0]);
            long.name = Some("Sample/long".into());
            long.inputs["prompt"] = json!(long_prompt());
            cases.push(long);
            client.add_cases("humaneval", cases.clone()).send().unwrap();
            client.add_cases("flat", cases).send().unwrap();
        }
        Self {
            server,
            client,
            http: reqwest::blocking::Client::new(),
        }
    }

    fn get(&self, path: &str) -> reqwest::blocking::Response {
        let response = self
            .http
            .get(format!("{}{path}", self.server.base_url()))
            .bearer_auth(self.server.api_key())
            .send()
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response
    }

    fn cases(&self, dataset: &str) -> Vec<RawCase> {
        self.get(&format!("/v1/datasets/{dataset}/cases/"))
            .json()
            .unwrap()
    }

    fn case(&self, dataset: &str, name: &str) -> RawCase {
        self.cases(dataset)
            .into_iter()
            .find(|case| {
                self.client
                    .get_case(dataset, case.id.parse().unwrap())
                    .send()
                    .unwrap()
                    .name
                    .as_deref()
                    == Some(name)
            })
            .unwrap_or_else(|| panic!("no case {name}"))
    }

    /// The fields the newest version's diff names for each changed case.
    fn last_diff(&self, dataset: &str) -> Vec<Vec<String>> {
        let versions: Value = self
            .get(&format!("/v1/datasets/{dataset}/versions/"))
            .json()
            .unwrap();
        let to = versions[0]["version"].as_u64().unwrap();
        let diff: Value = self
            .get(&format!(
                "/v1/datasets/{dataset}/diff/?from={}&to={to}",
                to - 1
            ))
            .json()
            .unwrap();
        assert_eq!(
            versions[0]["changed"].as_u64().unwrap() as usize,
            diff.as_array().unwrap().len(),
            "the version's count and its diff agree: {diff}"
        );
        diff.as_array()
            .unwrap()
            .iter()
            .map(|case| {
                case["fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f.as_str().unwrap().to_owned())
                    .collect()
            })
            .collect()
    }

    fn version(&self, dataset: &str) -> u64 {
        let detail = self.client.get_dataset(dataset).send().unwrap();
        detail.version.unwrap()
    }
}

fn sign_in(browser: &Browser, server: &EmbeddedServer) {
    browser.goto(&format!("{}/ui/", server.base_url()));
    browser.type_into(&browser.find("#key"), server.api_key());
    browser.follow(&browser.find("form button[type=submit]"));
}

fn edit_page(browser: &Browser, fixture: &Fixture, dataset: &str, case: &RawCase) {
    browser.goto(&format!(
        "{}/ui/datasets/{dataset}/cases/{}/edit",
        fixture.server.base_url(),
        case.id
    ));
}

#[test]
fn saving_only_the_tags_leaves_every_value_byte_identical() {
    let Some((chromium, driver)) = webdriver::browser() else {
        return;
    };
    let fixture = Fixture::new();
    let browser = Browser::start(chromium, driver, 1280, 900);
    sign_in(&browser, &fixture.server);
    for dataset in ["humaneval", "flat"] {
        for before in fixture.cases(dataset) {
            let version = fixture.version(dataset);
            edit_page(&browser, &fixture, dataset, &before);
            browser.type_into(&browser.find("#tags"), "reviewed");
            browser.follow(&browser.find("main form button[type=submit]"));
            let after = fixture
                .cases(dataset)
                .into_iter()
                .find(|case| case.id == before.id)
                .unwrap();
            assert_eq!(after.values(), before.values(), "{dataset}: values changed");
            assert_eq!(after.tags, ["reviewed"]);
            assert_eq!(after.version, before.version + 1);
            assert_eq!(fixture.version(dataset), version + 1);
            assert_eq!(fixture.last_diff(dataset), [["tags"]]);

            // Saved again with nothing changed: no version at all.
            edit_page(&browser, &fixture, dataset, &after);
            browser.follow(&browser.find("main form button[type=submit]"));
            assert_eq!(
                fixture.version(dataset),
                version + 1,
                "{dataset}: a no-op made a version"
            );
        }
    }
}

#[test]
fn text_typed_into_one_field_is_stored_as_typed_and_the_rest_is_kept() {
    let Some((chromium, driver)) = webdriver::browser() else {
        return;
    };
    let fixture = Fixture::new();
    let browser = Browser::start(chromium, driver, 1280, 900);
    sign_in(&browser, &fixture.server);
    for dataset in ["humaneval", "flat"] {
        // LF lines: what is typed ends up after the prompt, as typed.
        let before = fixture.case(dataset, "Sample/0");
        edit_page(&browser, &fixture, dataset, &before);
        browser.type_into(&browser.find("#inputs-prompt"), "    # typed\n\n");
        browser.follow(&browser.find("main form button[type=submit]"));
        let after = fixture.case(dataset, "Sample/0");
        let original = before.inputs()["prompt"].as_str().unwrap().to_owned();
        assert_eq!(
            after.inputs()["prompt"].as_str().unwrap(),
            format!("{original}    # typed\n\n")
        );
        assert_eq!(
            after.inputs()["entry_point"],
            before.inputs()["entry_point"]
        );
        assert_eq!(
            after.values()[1..],
            before.values()[1..],
            "{dataset}: output or metadata changed"
        );
        assert_eq!(fixture.last_diff(dataset), [["inputs"]]);

        // CR LF lines stay CR LF, the typed ones too.
        let before = fixture.case(dataset, "Sample/2");
        edit_page(&browser, &fixture, dataset, &before);
        browser.type_into(&browser.find("#inputs-prompt"), "# typed\n");
        browser.follow(&browser.find("main form button[type=submit]"));
        let after = fixture.case(dataset, "Sample/2");
        let original = before.inputs()["prompt"].as_str().unwrap().to_owned();
        assert_eq!(
            after.inputs()["prompt"].as_str().unwrap(),
            format!("{original}# typed\r\n")
        );
        assert_eq!(after.values()[1..], before.values()[1..]);

        // A lone CR is edited as a JSON string; another field's edit keeps it.
        let before = fixture.case(dataset, "Sample/3");
        edit_page(&browser, &fixture, dataset, &before);
        let shown = browser.script("return document.getElementById('inputs-prompt').value");
        assert_eq!(
            shown.as_str().unwrap(),
            serde_json::to_string(before.inputs()["prompt"].as_str().unwrap()).unwrap()
        );
        browser.type_into(&browser.find("#inputs-entry_point"), "_v2");
        browser.follow(&browser.find("main form button[type=submit]"));
        let after = fixture.case(dataset, "Sample/3");
        assert_eq!(after.inputs()["prompt"], before.inputs()["prompt"]);
        assert_eq!(after.inputs()["entry_point"], "odd_v2");

        // Tabs and unicode set in the real control, through its value.
        let before = fixture.case(dataset, "Sample/1");
        edit_page(&browser, &fixture, dataset, &before);
        browser.script(
            "const t = document.getElementById('expected_output-canonical_solution');
             t.value = t.value + '\\t# Grüße 👋  \\n';",
        );
        browser.follow(&browser.find("main form button[type=submit]"));
        let after = fixture.case(dataset, "Sample/1");
        let solution = |case: &RawCase| -> String {
            let value: Value = serde_json::from_str(case.expected_output.get()).unwrap();
            value["canonical_solution"].as_str().unwrap().to_owned()
        };
        assert_eq!(
            solution(&after),
            format!("{}\t# Grüße 👋  \n", solution(&before))
        );
        assert_eq!(after.inputs.get(), before.inputs.get());
        assert_eq!(after.metadata.get(), before.metadata.get());
    }
}

#[test]
fn a_new_case_and_a_string_output_are_typed_as_text() {
    let Some((chromium, driver)) = webdriver::browser() else {
        return;
    };
    let fixture = Fixture::new();
    fixture
        .client
        .create_dataset("answers")
        .input_schema(json!({"type": "object", "properties": {"question": {"type": "string"}}}))
        .output_schema(json!({"type": "string"}))
        .send()
        .unwrap();
    let browser = Browser::start(chromium, driver, 1280, 900);
    sign_in(&browser, &fixture.server);
    browser.goto(&format!(
        "{}/ui/datasets/answers/cases/new",
        fixture.server.base_url()
    ));
    browser.type_into(&browser.find("#name"), "multi-line");
    browser.type_into(
        &browser.find("#inputs-question"),
        "line one\n  line two  \n",
    );
    browser.type_into(
        &browser.find("#expected_output"),
        "def f():\n    return 1\n",
    );
    browser.follow(&browser.find("main form button[type=submit]"));
    let case = fixture.case("answers", "multi-line");
    assert_eq!(case.inputs()["question"], "line one\n  line two  \n");
    assert_eq!(case.expected_output.get(), r#""def f():\n    return 1\n""#);
}

#[test]
fn the_case_page_and_the_diff_show_text_as_text() {
    let Some((chromium, driver)) = webdriver::browser() else {
        return;
    };
    let fixture = Fixture::new();
    let browser = Browser::start(chromium, driver, 1280, 900);
    sign_in(&browser, &fixture.server);
    let case = fixture.case("humaneval", "Sample/0");
    let base = fixture.server.base_url();
    browser.goto(&format!("{base}/ui/datasets/humaneval/cases/{}/", case.id));
    let blocks: Vec<String> = browser
        .all("main .value pre.text")
        .iter()
        .map(|pre| browser.text(pre))
        .collect();
    assert!(
        blocks.iter().any(|text| text.contains(
            "    for i, a in enumerate(numbers):\n        for j, b in enumerate(numbers):"
        )),
        "{blocks:?}"
    );
    assert!(
        !browser.body_text().contains("\\n"),
        "a string was shown JSON-escaped"
    );

    // The 100 KB prompt folds, and opens whole.
    let long = fixture.case("humaneval", "Sample/long");
    browser.goto(&format!("{base}/ui/datasets/humaneval/cases/{}/", long.id));
    let fold = browser.find("details.fold summary");
    assert!(
        browser.text(&fold).starts_with("Show all"),
        "{}",
        browser.text(&fold)
    );
    browser.click(&fold);
    let whole = browser.find("details.fold pre");
    assert!(browser.text(&whole).contains("x_3000 = 3000"));

    // Metadata and a line of code changed: both shown, the line marked.
    fixture
        .client
        .update_case("humaneval", case.id.parse().unwrap())
        .inputs(json!({
            "prompt": case.inputs()["prompt"].as_str().unwrap().replace("0.5)", "0.25)"),
            "entry_point": "has_close_elements",
        }))
        .metadata(json!({"task_id": "Sample/0-b"}))
        .send()
        .unwrap();
    let to = fixture.version("humaneval");
    browser.goto(&format!(
        "{base}/ui/datasets/humaneval/diff?from={}&to={to}",
        to - 1
    ));
    let text = browser.body_text();
    assert!(
        text.contains("Before: version") && text.contains("After: version"),
        "{text}"
    );
    assert!(
        text.contains("Metadata") && text.contains("Sample/0-b"),
        "{text}"
    );
    let removed: Vec<String> = browser
        .all(&format!(
            "[aria-label='Inputs in version {}'] .line.removed",
            to - 1
        ))
        .iter()
        .map(|line| browser.text(line))
        .collect();
    let added: Vec<String> = browser
        .all(&format!(
            "[aria-label='Inputs in version {to}'] .line.added"
        ))
        .iter()
        .map(|line| browser.text(line))
        .collect();
    assert_eq!(
        removed,
        ["    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)"]
    );
    assert_eq!(added, ["    >>> has_close_elements([1.0, 2.0, 3.0], 0.25)"]);
    // The screenshots a reader looks at, for docs/screenshots/.
    // DATASETS_SCREENSHOTS=docs/screenshots, as for the main pages' screenshots.
    if let Some(dir) = std::env::var_os("DATASETS_SCREENSHOTS") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::write(dir.join("real-data-diff.png"), browser.screenshot()).unwrap();
        browser.goto(&format!("{base}/ui/datasets/humaneval/cases/{}/", case.id));
        std::fs::write(dir.join("real-data-case.png"), browser.screenshot()).unwrap();
        browser.goto(&format!(
            "{base}/ui/datasets/humaneval/cases/{}/edit",
            case.id
        ));
        std::fs::write(dir.join("real-data-edit.png"), browser.screenshot()).unwrap();
    }
}

/// A number typed into a form is never rounded: one that no 64-bit
/// integer or float holds as typed is refused where it was typed, and
/// nothing is stored.
#[test]
fn a_number_the_store_cannot_hold_is_refused_not_rounded() {
    let Some((chromium, driver)) = webdriver::browser() else {
        return;
    };
    let fixture = Fixture::new();
    fixture
        .client
        .create_dataset("ids")
        .input_schema(json!({"type": "object", "properties": {"id": {"type": "integer"}}}))
        .send()
        .unwrap();
    let browser = Browser::start(chromium, driver, 1280, 900);
    sign_in(&browser, &fixture.server);
    let new_case = format!("{}/ui/datasets/ids/cases/new", fixture.server.base_url());
    browser.goto(&new_case);
    browser.type_into(
        &browser.find("#inputs-id"),
        "123456789012345678901234567890",
    );
    browser.follow(&browser.find("main form button[type=submit]"));
    let page = browser.script("return document.body.innerText");
    assert!(
        page.as_str()
            .unwrap()
            .contains("the integer 123456789012345678901234567890 does not fit in 64 bits"),
        "{page}"
    );
    browser.goto(&new_case);
    browser.type_into(&browser.find("#inputs-id"), "7");
    browser.type_into(
        &browser.find("#expected_output"),
        r#"{"pi": 3.14159265358979323846}"#,
    );
    browser.follow(&browser.find("main form button[type=submit]"));
    let page = browser.script("return document.body.innerText");
    assert!(
        page.as_str()
            .unwrap()
            .contains("cannot be held exactly by a 64-bit float"),
        "{page}"
    );
    assert!(fixture.cases("ids").is_empty(), "nothing was stored");
}

/// The UI's dataset form has the API's JSON guard: a schema nested past the
/// limit, a key given twice and a number a 64-bit value cannot hold are
/// refused where they are, and no dataset is made.
#[test]
fn the_dataset_form_checks_schemas_as_the_api_does() {
    let Some((chromium, driver)) = webdriver::browser() else {
        return;
    };
    let fixture = Fixture::new();
    let browser = Browser::start(chromium, driver, 1280, 900);
    sign_in(&browser, &fixture.server);
    let deep = format!(
        "{}{{\"type\": \"string\"}}{}",
        "{\"items\": ".repeat(100),
        "}".repeat(100)
    );
    for (schema, said) in [
        (deep.as_str(), "nested deeper than 64 levels"),
        (
            r#"{"type": "string", "type": "integer"}"#,
            "the same key appears twice",
        ),
        (
            r#"{"type": "integer", "maximum": 123456789012345678901234567890}"#,
            "does not fit in 64 bits",
        ),
    ] {
        browser.goto(&format!("{}/ui/datasets/new", fixture.server.base_url()));
        browser.type_into(&browser.find("#name"), "guarded");
        browser.script(&format!(
            "document.getElementById('input_schema').value = {};",
            serde_json::to_string(schema).unwrap()
        ));
        // The form comes back at the same address, with what was wrong.
        browser.click(&browser.find("main form button[type=submit]"));
        browser.wait_for_text(said);
        let names: Vec<String> = fixture
            .client
            .list_datasets()
            .send()
            .unwrap()
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert!(!names.contains(&"guarded".to_owned()), "{names:?}");
    }
}
