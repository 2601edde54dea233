//! The web UI: server-rendered pages under `/ui/`, readable without
//! JavaScript, from the same binary (`--no-ui` turns them off).
//!
//! Sign-in takes an API key and starts a session: a random id in an
//! `HttpOnly`, `SameSite=Strict` cookie with an expiry, stored in the
//! database only as its SHA-256 (never the key), so a session works on every
//! replica and after a restart; sign-out ends it, and revoking its key ends
//! it too. Every form carries a CSRF token (the session's, or before
//! sign-in a random one that must match a cookie), and a POST without the
//! right one is refused with 403 and changes nothing. Every answer sends a
//! strict Content-Security-Policy (no scripts, styles from this server
//! only), `X-Content-Type-Options: nosniff` and frame denial. Everything a
//! user stored is escaped by the templates.

mod datasets;
mod edit;
mod forms;
mod history;
mod pages;
mod values;

use std::sync::OnceLock;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use subtle::ConstantTimeEq;

use crate::keys::hash_key;
use crate::state::AppState;
use crate::store::{ApiKeyRecord, NewSession};

/// The session cookie, and the cookie holding the sign-in form's token.
const SESSION_COOKIE: &str = "ds_session";
const SIGN_IN_COOKIE: &str = "ds_signin";
/// How long a session lasts.
const SESSION_LIFETIME: time::Duration = time::Duration::hours(12);

/// The UI's routes, and `/` sending there.
pub(crate) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(pages::datasets))
        .route("/ui/sign-in", get(pages::sign_in_form).post(sign_in))
        .route("/ui/sign-out", post(sign_out))
        .route(
            "/ui/datasets/new",
            get(datasets::new_dataset_form).post(datasets::new_dataset),
        )
        .route("/ui/datasets/{dataset}/", get(pages::dataset))
        .route(
            "/ui/datasets/{dataset}/edit",
            get(datasets::edit_dataset_form).post(datasets::edit_dataset),
        )
        .route(
            "/ui/datasets/{dataset}/cases/new",
            get(edit::new_case_form).post(edit::new_case),
        )
        .route("/ui/datasets/{dataset}/cases/{case}/", get(pages::case))
        .route(
            "/ui/datasets/{dataset}/cases/{case}/edit",
            get(edit::edit_case_form).post(edit::edit_case),
        )
        .route(
            "/ui/datasets/{dataset}/cases/{case}/delete",
            get(edit::delete_case_form).post(edit::delete_case),
        )
        .route("/ui/datasets/{dataset}/versions/", get(history::versions))
        .route("/ui/datasets/{dataset}/versions/tag", post(history::tag))
        .route("/ui/datasets/{dataset}/diff", get(history::diff))
        .route(
            "/ui/datasets/{dataset}/experiments/",
            get(history::experiments),
        )
        .route("/ui/experiments/compare", get(history::compare))
        .route("/ui/experiments/{id}/", get(history::experiment))
        .route(&format!("/ui/assets/{}", style_name()), get(style))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::extract::bounded_body,
        ))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn_with_state(state, secure_cookies))
}

/// The stylesheet, and its name with a hash of its content, so that it may
/// be cached for ever and a new version is fetched at once.
const STYLE: &str = include_str!("style.css");

fn style_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(STYLE.as_bytes());
        let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        format!("style.{hex}.css")
    })
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        STYLE,
    )
        .into_response()
}

/// The headers every UI answer carries.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Marks every cookie the answer sets `Secure` when the request came over
/// HTTPS, as the configuration tells it ([`crate::state::SecureCookies`]).
async fn secure_cookies(State(state): State<AppState>, request: Request, next: Next) -> Response {
    use crate::state::SecureCookies;
    let secure = match state.config.secure_cookies {
        SecureCookies::Never => false,
        SecureCookies::Always => true,
        SecureCookies::WhenForwardedHttps => request
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https")),
    };
    let mut response = next.run(request).await;
    if secure {
        let cookies: Vec<HeaderValue> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .cloned()
            .collect();
        response.headers_mut().remove(header::SET_COOKIE);
        for cookie in cookies {
            let marked = cookie
                .to_str()
                .ok()
                .and_then(|text| HeaderValue::from_str(&format!("{text}; Secure")).ok())
                .unwrap_or(cookie);
            response.headers_mut().append(header::SET_COOKIE, marked);
        }
    }
    response
}

/// A cookie's value, from the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, for `/ui`.
fn set_cookie(name: &str, value: &str, max_age: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={max_age}"
    ))
    .unwrap_or(HeaderValue::from_static(""))
}

/// 32 random bytes as hex.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The OS's generator fails only when the system is broken; a token of
    // zeros would then be refused by every check below.
    if getrandom::fill(&mut bytes).is_err() {
        return String::new();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a form's token is the expected one (never for an empty one).
fn token_matches(sent: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes()))
}

/// The signed-in user of a page: the session's key and its CSRF token.
/// Without a live session, a page sends to the sign-in form.
#[derive(Debug, Clone)]
pub(crate) struct UiSession {
    pub(crate) key: ApiKeyRecord,
    pub(crate) csrf: String,
    id_hash: [u8; 32],
}

impl UiSession {
    /// Whether the key may write.
    pub(crate) fn can_write(&self) -> bool {
        self.key.scopes.write
    }
}

impl FromRequestParts<AppState> for UiSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_sign_in = || Redirect::to("/ui/sign-in").into_response();
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_sign_in());
        };
        let id_hash = hash_key(&id);
        match state.store.find_session(&id_hash).await {
            Ok(Some(session)) if session.key.scopes.read => Ok(Self {
                key: session.key,
                csrf: session.csrf,
                id_hash,
            }),
            Ok(_) => Err(to_sign_in()),
            Err(err) => Err(pages::error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("The database did not answer: {err}"),
            )),
        }
    }
}

/// A posted form's field (the first of that name), or empty. Any body is
/// read: one that is no form has no token, and is refused for that.
fn field(body: &[u8], name: &str) -> String {
    form_urlencoded::parse(body)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

async fn sign_in(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    body: Bytes,
) -> Response {
    let headers = &parts.headers;
    let expected = cookie(headers, SIGN_IN_COOKIE).unwrap_or_default();
    if !token_matches(&field(&body, "csrf"), &expected) {
        return pages::forbidden();
    }
    let address = state.throttle.address(headers, &parts.extensions);
    if let Err(err) = state.throttle.check(address) {
        let mut page = pages::sign_in_page(
            StatusCode::TOO_MANY_REQUESTS,
            Some(&err.to_string()),
            &expected,
        );
        if let crate::error::ApiError::TooManyFailures { retry_after } = err
            && let Ok(value) = header::HeaderValue::from_str(&retry_after.to_string())
        {
            page.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return page;
    }
    let hash = hash_key(field(&body, "key").trim());
    let key = match state.store.find_key(&hash).await {
        Ok(Some(key)) if !key.revoked && bool::from(key.key_hash.ct_eq(&hash)) => key,
        Ok(_) => {
            state.throttle.failed(address);
            return pages::sign_in_page(
                StatusCode::UNAUTHORIZED,
                Some("That key is unknown or revoked."),
                &expected,
            );
        }
        Err(err) => {
            return pages::error_page(StatusCode::SERVICE_UNAVAILABLE, &err.to_string());
        }
    };
    let id = random_token();
    if id.is_empty() {
        return pages::error_page(StatusCode::INTERNAL_SERVER_ERROR, "no randomness");
    }
    let session = NewSession {
        id_hash: hash_key(&id),
        key_id: key.id,
        csrf: random_token(),
        expires_at: crate::store::now() + SESSION_LIFETIME,
    };
    if let Err(err) = state.store.create_session(session).await {
        return pages::error_page(StatusCode::SERVICE_UNAVAILABLE, &err.to_string());
    }
    let mut response = Redirect::to("/ui/").into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &id, SESSION_LIFETIME.whole_seconds()),
    );
    headers.append(header::SET_COOKIE, set_cookie(SIGN_IN_COOKIE, "", 0));
    response
}

async fn sign_out(State(state): State<AppState>, session: UiSession, body: Bytes) -> Response {
    if !token_matches(&field(&body, "csrf"), &session.csrf) {
        return pages::forbidden();
    }
    if let Err(err) = state.store.delete_session(&session.id_hash).await {
        return pages::error_page(StatusCode::SERVICE_UNAVAILABLE, &err.to_string());
    }
    let mut response = Redirect::to("/ui/sign-in").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0));
    response
}
