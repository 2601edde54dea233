//! A small W3C WebDriver client for the browser tests: Debian's
//! `chromedriver` driving headless `chromium`, over the protocol's JSON
//! endpoints with the reqwest the tests already use.

#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The W3C element key in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Chromium and ChromeDriver, when installed; `None` (with a note) outside
/// CI when they are absent. Under `CI=true` their absence fails the test
/// (the test script installs them).
pub fn browser() -> Option<(&'static str, &'static str)> {
    let (chromium, driver) = ("/usr/bin/chromium", "/usr/bin/chromedriver");
    if Path::new(chromium).exists() && Path::new(driver).exists() {
        return Some((chromium, driver));
    }
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "CI must run the browser tests: install chromium and chromium-driver (scripts/test.sh does)"
    );
    eprintln!(
        "SKIPPED: the browser tests need Debian's chromium and chromium-driver \
         (apt-get install -y chromium chromium-driver; scripts/test.sh installs them under CI)"
    );
    None
}

/// A ChromeDriver process and one browser session; both end on drop.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::blocking::Client,
}

/// An element found on the page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts ChromeDriver and a headless Chromium `width` pixels wide.
    pub fn start(chromium: &str, driver: &str, width: u32, height: u32) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not answer");
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut options = json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", format!("--window-size={width},{height}")]
        });
        // A window is never narrower than about 500 pixels; a phone's
        // width is emulated instead.
        if width < 600 {
            options["mobileEmulation"] = json!({"deviceMetrics":
                {"width": width, "height": height, "pixelRatio": 1.0}});
        }
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": options
            }}}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {answer}"))
            .to_owned();
        Self {
            driver: child,
            base,
            session,
            http,
        }
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().unwrap().json().unwrap();
        answer["value"].clone()
    }

    fn ok(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let value = self.call(method, path, body);
        if let Some(error) = value.get("error") {
            panic!("WebDriver {path}: {error}: {}", value["message"]);
        }
        value
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.ok(reqwest::Method::POST, "/url", Some(json!({"url": url})));
    }

    /// The current URL.
    pub fn url(&self) -> String {
        self.ok(reqwest::Method::GET, "/url", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The page's title.
    pub fn title(&self) -> String {
        self.ok(reqwest::Method::GET, "/title", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Every element matching a CSS selector.
    pub fn all(&self, css: &str) -> Vec<Element> {
        let found = self.ok(
            reqwest::Method::POST,
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        );
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|e| Element(e[ELEMENT].as_str().unwrap().to_owned()))
            .collect()
    }

    /// The one element matching a CSS selector.
    pub fn find(&self, css: &str) -> Element {
        let mut all = self.all(css);
        assert!(!all.is_empty(), "no element `{css}` on {}", self.url());
        all.remove(0)
    }

    /// The link whose text is `text`.
    pub fn link(&self, text: &str) -> Element {
        let found = self.ok(
            reqwest::Method::POST,
            "/element",
            Some(json!({"using": "link text", "value": text})),
        );
        Element(found[ELEMENT].as_str().unwrap().to_owned())
    }

    /// Types into an element.
    pub fn type_into(&self, element: &Element, text: &str) {
        self.ok(
            reqwest::Method::POST,
            &format!("/element/{}/value", element.0),
            Some(json!({"text": text})),
        );
    }

    /// Clicks an element (and waits for a navigation it starts).
    pub fn click(&self, element: &Element) {
        self.ok(
            reqwest::Method::POST,
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        );
    }

    /// Clicks a link or a form's button and waits until the browser is on
    /// the next page and has loaded it (a click returns before a form's
    /// navigation ends).
    pub fn follow(&self, element: &Element) {
        let before = self.url();
        self.click(element);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let loaded = self.script("return document.readyState") == json!("complete");
            if self.url() != before && loaded {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "still on {before} after the click"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until an element matching `css` is on the page.
    pub fn wait_for(&self, css: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(found) = self.all(css).into_iter().next() {
                return found;
            }
            assert!(Instant::now() < deadline, "no `{css}` on {}", self.url());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the page's text holds `needle`.
    pub fn wait_for_text(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = self.script("return document.body ? document.body.innerText : ''");
            if let Some(text) = text.as_str().filter(|t| t.contains(needle)) {
                return text.to_owned();
            }
            assert!(Instant::now() < deadline, "no {needle:?} on {}", self.url());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// An element's rendered text.
    pub fn text(&self, element: &Element) -> String {
        self.ok(
            reqwest::Method::GET,
            &format!("/element/{}/text", element.0),
            None,
        )
        .as_str()
        .unwrap()
        .to_owned()
    }

    /// An element's attribute.
    pub fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        self.ok(
            reqwest::Method::GET,
            &format!("/element/{}/attribute/{name}", element.0),
            None,
        )
        .as_str()
        .map(str::to_owned)
    }

    /// The text of the whole page.
    pub fn body_text(&self) -> String {
        let body = self.find("body");
        self.text(&body)
    }

    /// The open alert's text, if a dialog is open.
    pub fn alert(&self) -> Option<String> {
        let value = self.call(reqwest::Method::GET, "/alert/text", None);
        value.as_str().map(str::to_owned)
    }

    /// Runs a script in the page and gives its result.
    pub fn script(&self, script: &str) -> Value {
        self.ok(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        let base64 = self.ok(reqwest::Method::GET, "/screenshot", None);
        decode_base64(base64.as_str().unwrap())
    }

    /// Resizes the window.
    pub fn resize(&self, width: u32, height: u32) {
        self.ok(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => 0,
        }
    };
    let bytes: Vec<u8> = text
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, c)| n | value(*c) << (18 - 6 * i));
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}
