//! Browser sessions of hosts: a random cookie value (only its hash is stored) bound to the company
//! domain it was issued on.
//!
//! Over https the cookie is `SameSite=None; Secure; Partitioned` so that it also works when a
//! reseller's application on another site embeds the pages in an iframe (partitioned per embedding
//! site in browsers that support CHIPS). Over plain http (local use) browsers refuse
//! `SameSite=None` without `Secure`, so the cookie falls back to `SameSite=Lax`.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::{
    app::App,
    error::{AppError, AppResult},
    store::{self, browser_sessions::NewBrowserSession, hosts::Host},
    tenancy::Tenant,
};

use super::token;

/// Name of the session cookie.
pub const COOKIE: &str = "mtg_session";

/// A logged-in host on the domain of the request.
#[derive(Debug, Clone)]
pub struct SessionHost {
    pub session_id: i64,
    pub host: Host,
    /// Where the meeting page sends the host when its meeting ends (from `/auth`).
    pub after_call_url: Option<String>,
}

/// How long a new session lives and whether its cookie outlives the browser.
#[derive(Debug, Clone, Copy)]
pub struct SessionOptions {
    /// `false`: a session cookie (no `Max-Age`), gone when the browser closes.
    pub persistent: bool,
}

/// Cookie attributes for this deployment (see the module comment for why they differ).
pub fn cookie_attributes(app: &App) -> &'static str {
    if app.config.public_scheme == "https" {
        "Path=/; HttpOnly; SameSite=None; Secure; Partitioned"
    } else {
        "Path=/; HttpOnly; SameSite=Lax"
    }
}

/// A `Set-Cookie` value; `max_age` `None` makes a cookie that ends with the browser session.
pub fn set_cookie(
    app: &App,
    name: &str,
    value: &str,
    max_age: Option<i64>,
) -> AppResult<HeaderValue> {
    let attributes = cookie_attributes(app);
    let cookie = match max_age {
        Some(secs) => format!("{name}={value}; {attributes}; Max-Age={secs}"),
        None => format!("{name}={value}; {attributes}"),
    };
    HeaderValue::from_str(&cookie).map_err(AppError::internal)
}

/// A `Set-Cookie` value that deletes a cookie.
pub fn clear_cookie(app: &App, name: &str) -> AppResult<HeaderValue> {
    set_cookie(app, name, "", Some(0))
}

/// The value of cookie `name` in the request, if present and non-empty.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value.to_string())
}

/// Opens a session for `host` on the tenant's domain and returns its `Set-Cookie` value.
///
/// A session presented with the request is ended first, and the new one always gets a fresh
/// random value, so a cookie planted before login never becomes a logged-in session.
pub async fn open(
    app: &App,
    tenant: &Tenant,
    request_headers: &HeaderMap,
    host: &Host,
    after_call_url: Option<&str>,
    options: SessionOptions,
) -> AppResult<HeaderValue> {
    if host.reseller_id != tenant.reseller_id || host.company_id != tenant.company_id {
        return Err(AppError::internal("session for a host of another company"));
    }
    if let Some(previous) = read_cookie(request_headers, COOKIE) {
        store::browser_sessions::delete_by_hash(&app.db, &token::hash_secret(&previous)).await?;
    }
    let secret = token::random_secret();
    let ttl = app.config.browser_session_ttl_secs;
    store::browser_sessions::insert(
        &app.db,
        &NewBrowserSession {
            token_hash: &token::hash_secret(&secret),
            host_id: host.id,
            reseller_id: tenant.reseller_id,
            company_id: tenant.company_id,
            hostname: &tenant.hostname,
            after_call_url,
            expires_at: store::now() + ttl,
        },
    )
    .await?;
    set_cookie(app, COOKIE, &secret, options.persistent.then_some(ttl))
}

/// The host logged in on this domain, if the request carries a valid session cookie.
pub async fn current(
    app: &App,
    tenant: &Tenant,
    headers: &HeaderMap,
) -> AppResult<Option<SessionHost>> {
    let Some(secret) = read_cookie(headers, COOKIE) else {
        return Ok(None);
    };
    let Some(session) =
        store::browser_sessions::find(&app.db, &token::hash_secret(&secret)).await?
    else {
        return Ok(None);
    };
    // A session belongs to the exact domain it was opened on.
    let same_domain = session.reseller_id == tenant.reseller_id
        && session.company_id == tenant.company_id
        && session.hostname == tenant.hostname;
    if !same_domain || session.expires_at <= store::now() {
        return Ok(None);
    }
    let host = store::hosts::get(&app.db, tenant.reseller_id, session.host_id)
        .await?
        .filter(|h| h.company_id == tenant.company_id);
    Ok(host.map(|host| SessionHost {
        session_id: session.id,
        host,
        after_call_url: session.after_call_url,
    }))
}

/// Ends the session presented with the request, if any.
pub async fn close(app: &App, headers: &HeaderMap) -> AppResult<()> {
    if let Some(secret) = read_cookie(headers, COOKIE) {
        store::browser_sessions::delete_by_hash(&app.db, &token::hash_secret(&secret)).await?;
    }
    Ok(())
}
