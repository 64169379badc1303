//! `/auth`: single sign-on from a reseller's application, by `GET` (usable as an iframe `src`) or
//! `POST` (form or JSON). Either `host_id` + `login_token_public_key`, or a signed login `token`.

use std::{collections::HashMap, net::SocketAddr};

use axum::{
    body::Bytes,
    extract::{ConnectInfo, RawQuery, State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use super::{Brand, PageError, PageTenant, request_origin};
use crate::{
    api::session::client_address,
    app::AppState,
    auth::{
        browser_session::{self, SessionOptions},
        sso::{self, targets},
    },
    error::{AppError, AppResult},
    store,
    tenancy::Tenant,
};

/// A `303 See Other` to a same-domain path, setting `cookies`, never cached.
pub fn see_other(location: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    // Callers pass validated ASCII paths; the fallback only guards against a future mistake.
    let location = HeaderValue::from_str(location)
        .unwrap_or(HeaderValue::from_static(targets::DEFAULT_LANDING));
    headers.insert(header::LOCATION, location);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in cookies {
        headers.append(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET /auth?host_id=..&login_token_public_key=..` or `GET /auth?token=<jwt>`.
pub async fn auth_get(
    State(app): State<AppState>,
    PageTenant(tenant): PageTenant,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = form_fields(query.as_deref().unwrap_or_default());
    sign_in(&app, &tenant, peer, &headers, params).await
}

/// `POST /auth` with the same fields as a form or a JSON object.
pub async fn auth_post(
    State(app): State<AppState>,
    PageTenant(tenant): PageTenant,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let body = super::page_body(body, &tenant)?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    let mut params = form_fields(query.as_deref().unwrap_or_default());
    let body_fields = if is_json {
        json_fields(&body).map_err(|e| PageError::new(e, Brand::of(&tenant)))?
    } else {
        form_fields(&String::from_utf8_lossy(&body))
    };
    params.extend(body_fields);
    posted_from_allowed_origin(&app, &tenant, &headers)
        .await
        .map_err(|e| PageError::new(e, Brand::of(&tenant)))?;
    sign_in(&app, &tenant, peer, &headers, params).await
}

/// Login CSRF defence: a browser may post a sign-in only from the company's own domain or from an
/// origin the company lets embed it (`embed_origins`, the reseller's application). Otherwise any
/// site could sign its visitors in as a host of the attacker's choosing. Posts without `Origin`
/// come from servers and command-line clients, not from a browser on another site.
async fn posted_from_allowed_origin(
    app: &AppState,
    tenant: &Tenant,
    headers: &HeaderMap,
) -> AppResult<()> {
    let Some(origin) = request_origin::origin(headers) else {
        return Ok(());
    };
    if request_origin::is_hostname(&origin, &tenant.hostname) {
        return Ok(());
    }
    let allowed = store::sso::embed_origins_for_hostname(&app.db, &tenant.hostname).await?;
    if allowed.contains(&origin) {
        return Ok(());
    }
    Err(AppError::forbidden(
        "Sign-in was sent from a site this company does not allow; its origin must be in the \
         company's embed_origins",
    ))
}

pub(super) fn form_fields(encoded: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(encoded.as_bytes())
        .into_owned()
        .collect()
}

/// A JSON object's fields as text (numbers and booleans spelled out, as a form would send them).
fn json_fields(body: &[u8]) -> AppResult<HashMap<String, String>> {
    let object = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => object,
        _ => {
            return Err(AppError::bad_request(
                "malformed_json",
                "Request body must be a JSON object",
            ));
        }
    };
    let mut fields = HashMap::new();
    for (key, value) in object {
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => if b { "1" } else { "0" }.to_string(),
            _ => {
                return Err(AppError::invalid_field(
                    &key,
                    "must be a string or a number",
                ));
            }
        };
        fields.insert(key, text);
    }
    Ok(fields)
}

/// `remember_me`: absent or true-ish keeps the cookie across browser restarts; `0` does not.
fn remember_me(value: Option<&str>) -> AppResult<bool> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("1") | Some("true") | Some("yes") | Some("on") => Ok(true),
        Some("0") | Some("false") | Some("no") | Some("off") => Ok(false),
        Some(_) => Err(AppError::invalid_field("remember_me", "must be 0 or 1")),
    }
}

fn field<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

async fn sign_in(
    app: &AppState,
    tenant: &Tenant,
    peer: SocketAddr,
    headers: &HeaderMap,
    params: HashMap<String, String>,
) -> Result<Response, PageError> {
    let page_error = |error: AppError| PageError::new(error, Brand::of(tenant));
    let address = client_address(app, peer, headers);
    app.sso.failures.check(address).map_err(page_error)?;
    let redirect = match field(&params, "redirect_url") {
        Some(path) => targets::same_domain_path("redirect_url", path).map_err(page_error)?,
        None => targets::DEFAULT_LANDING.to_string(),
    };
    let after_call_url = field(&params, "after_call_url")
        .map(|url| targets::absolute_web_url("after_call_url", url))
        .transpose()
        .map_err(page_error)?;
    let persistent = remember_me(field(&params, "remember_me")).map_err(page_error)?;
    let host = match field(&params, "token") {
        Some(token) => sso::host_by_login_token(app, tenant, token).await,
        None => {
            let host_id = field(&params, "host_id")
                .ok_or_else(|| AppError::bad_request("missing_field", "host_id: is required"))
                .and_then(|v| {
                    v.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
                        AppError::invalid_field("host_id", "must be a positive integer")
                    })
                })
                .map_err(page_error)?;
            let key = field(&params, "login_token_public_key")
                .ok_or_else(|| {
                    AppError::bad_request("missing_field", "login_token_public_key: is required")
                })
                .map_err(page_error)?;
            sso::host_by_login_key(app, tenant, host_id, key).await
        }
    };
    let host = match host {
        Ok(host) => host,
        Err(error) => {
            if error.status == StatusCode::UNAUTHORIZED {
                app.sso.failures.record_failure(address);
            }
            return Err(page_error(error));
        }
    };
    let cookie = browser_session::open(
        app,
        tenant,
        headers,
        &host,
        after_call_url.as_deref(),
        SessionOptions { persistent },
    )
    .await
    .map_err(page_error)?;
    Ok(see_other(&redirect, vec![cookie]))
}
