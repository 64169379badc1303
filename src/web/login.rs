//! `/login` (email and password) and `/logout` for hosts who sign in with a form.

use std::net::SocketAddr;

use askama::Template;
use axum::{
    body::Bytes,
    extract::{ConnectInfo, RawQuery, State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{
    Brand, PageError, PageTenant, csrf, render,
    sso::{form_fields, see_other},
};
use crate::{
    api::session::client_address,
    app::{App, AppState},
    auth::{
        browser_session::{self, SessionHost, SessionOptions},
        password,
        sso::{oidc, targets},
    },
    error::AppError,
    store,
    tenancy::{Tenant, names},
};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    brand: &'a Brand,
    csrf_token: &'a str,
    next: &'a str,
    email: &'a str,
    error: Option<&'a str>,
    provider: Option<&'a str>,
    provider_url: &'a str,
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage<'a> {
    brand: &'a Brand,
    csrf_token: &'a str,
}

/// `/login?next=<path>` for a page that needs a signed-in host.
pub fn login_location(next: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("/login?next={encoded}")
}

/// The signed-in host, or a redirect to the login page that comes back to `here`.
pub async fn host_or_login(
    app: &App,
    tenant: &Tenant,
    headers: &HeaderMap,
    here: &str,
) -> Result<SessionHost, Response> {
    match browser_session::current(app, tenant, headers).await {
        Ok(Some(host)) => Ok(host),
        Ok(None) => Err(see_other(&login_location(here), Vec::new())),
        Err(error) => Err(PageError::new(error, Brand::of(tenant)).into_response()),
    }
}

/// A same-domain `next` path, or the default landing page when it is missing or unsafe.
fn next_path(value: Option<&String>) -> String {
    value
        .and_then(|v| targets::same_domain_path("next", v).ok())
        .unwrap_or_else(|| targets::DEFAULT_LANDING.to_string())
}

fn with_csrf_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

struct LoginForm<'a> {
    next: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

async fn login_page(
    app: &App,
    tenant: &Tenant,
    headers: &HeaderMap,
    form: LoginForm<'_>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (csrf_token, cookie) = csrf::issue(app, &tenant.hostname, headers);
    // The provider button shows only when the company has a working configuration.
    let provider = oidc::enabled_settings(app, tenant)
        .await
        .ok()
        .map(|(_, settings)| settings.provider_name);
    let next_encoded: String = url::form_urlencoded::byte_serialize(form.next.as_bytes()).collect();
    let provider_url = format!("/auth/oidc/start?next={next_encoded}");
    let html = render(&LoginPage {
        brand: &Brand::of(tenant),
        csrf_token: &csrf_token,
        next: form.next,
        email: form.email,
        error: form.error,
        provider: provider.as_deref(),
        provider_url: &provider_url,
    })?;
    Ok(with_csrf_cookie((status, html).into_response(), cookie))
}

/// `GET /login?next=<path>`.
pub async fn show_login(
    State(app): State<AppState>,
    PageTenant(tenant): PageTenant,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let query = form_fields(query.as_deref().unwrap_or_default());
    let next = next_path(query.get("next"));
    let signed_in = browser_session::current(&app, &tenant, &headers)
        .await
        .map_err(|e| PageError::new(e, Brand::of(&tenant)))?;
    if signed_in.is_some() {
        return Ok(see_other(&next, Vec::new()));
    }
    let form = LoginForm {
        next: &next,
        email: "",
        error: None,
    };
    login_page(&app, &tenant, &headers, form, StatusCode::OK).await
}

/// `POST /login`: checks the CSRF token, the rate limits and the password of a host of this
/// company, then opens a fresh browser session.
pub async fn submit_login(
    State(app): State<AppState>,
    PageTenant(tenant): PageTenant,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let page_error = |e: AppError| PageError::new(e, Brand::of(&tenant));
    let body = super::page_body(body, &tenant)?;
    let fields = form_fields(&String::from_utf8_lossy(&body));
    let text = |name: &str| fields.get(name).cloned().unwrap_or_default();
    csrf::verify(&app, &tenant.hostname, &headers, &text("csrf")).map_err(page_error)?;
    let next = next_path(fields.get("next"));
    let typed_email = text("email");
    let password_given = text("password");
    let failed = |message: &'static str, status: StatusCode| {
        let form = LoginForm {
            next: &next,
            email: &typed_email,
            error: Some(message),
        };
        login_page(&app, &tenant, &headers, form, status)
    };
    const BAD: &str = "Invalid email or password.";
    let Ok(email) = names::email("email", &typed_email) else {
        return failed(BAD, StatusCode::UNAUTHORIZED).await;
    };
    if password_given.len() > 4 * password::MAX_LEN {
        return failed(BAD, StatusCode::UNAUTHORIZED).await;
    }
    let address = client_address(&app, peer, &headers);
    if let Err(limited) = app.login_limiter.check(tenant.reseller_id, &email, address) {
        let mut response = failed(
            "Too many attempts; wait a minute and try again.",
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await?;
        if let Some(secs) = limited.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        return Ok(response);
    }
    // Only hosts of the company whose domain this is may sign in here.
    let host = store::hosts::find_by_email(&app.db, tenant.reseller_id, &email)
        .await
        .map_err(|e| page_error(e.into()))?
        .filter(|h| h.company_id == tenant.company_id);
    let stored = host.as_ref().and_then(|h| h.password_hash.clone());
    let valid = password::verify(password_given, stored)
        .await
        .map_err(page_error)?;
    let Some(host) = host.filter(|_| valid) else {
        return failed(BAD, StatusCode::UNAUTHORIZED).await;
    };
    let cookie = browser_session::open(
        &app,
        &tenant,
        &headers,
        &host,
        None,
        SessionOptions { persistent: true },
    )
    .await
    .map_err(page_error)?;
    Ok(see_other(&next, vec![cookie]))
}

/// `GET /logout`: a page with the sign-out button (signing out needs a POST with a CSRF token).
pub async fn show_logout(
    State(app): State<AppState>,
    PageTenant(tenant): PageTenant,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (csrf_token, cookie) = csrf::issue(&app, &tenant.hostname, &headers);
    let html = render(&LogoutPage {
        brand: &Brand::of(&tenant),
        csrf_token: &csrf_token,
    })?;
    Ok(with_csrf_cookie(html.into_response(), cookie))
}

/// `POST /logout`: ends the browser session and deletes its cookie.
pub async fn submit_logout(
    State(app): State<AppState>,
    PageTenant(tenant): PageTenant,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let page_error = |e: AppError| PageError::new(e, Brand::of(&tenant));
    let body = super::page_body(body, &tenant)?;
    let fields = form_fields(&String::from_utf8_lossy(&body));
    let submitted = fields.get("csrf").map(String::as_str).unwrap_or_default();
    csrf::verify(&app, &tenant.hostname, &headers, submitted).map_err(page_error)?;
    browser_session::close(&app, &headers)
        .await
        .map_err(page_error)?;
    let cleared =
        browser_session::clear_cookie(&app, browser_session::COOKIE).map_err(page_error)?;
    Ok(see_other("/login", vec![cleared]))
}
