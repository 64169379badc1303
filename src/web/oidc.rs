//! Company OpenID Connect sign-in pages: `/auth/oidc/start` sends the browser to the company's
//! provider, `/auth/oidc/callback` signs the host in when it comes back.

use axum::{
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{
    Brand, PageError, PageTenant,
    sso::{form_fields, see_other},
};
use crate::{
    app::AppState,
    auth::{
        browser_session::{self, SessionOptions},
        sso::{
            oidc::{self, Callback},
            targets,
        },
    },
    error::AppError,
};

/// `GET /auth/oidc/start?next=<path>`.
pub async fn start(
    State(app): State<AppState>,
    PageTenant(tenant): PageTenant,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let page_error = |e: AppError| PageError::new(e, Brand::of(&tenant));
    let query = form_fields(query.as_deref().unwrap_or_default());
    let next = query
        .get("next")
        .and_then(|n| targets::same_domain_path("next", n).ok())
        .unwrap_or_else(|| targets::DEFAULT_LANDING.to_string());
    let (authorize_url, state) = oidc::begin(&app, &tenant, &next)
        .await
        .map_err(page_error)?;
    let cookie = browser_session::set_cookie(
        &app,
        oidc::STATE_COOKIE,
        &state,
        Some(oidc::PENDING_TTL_SECS),
    )
    .map_err(page_error)?;
    // The provider is on another site: a plain redirect, not `see_other` (same-domain only).
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::LOCATION,
        HeaderValue::from_str(&authorize_url).map_err(|e| page_error(AppError::internal(e)))?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// `GET /auth/oidc/callback?code=..&state=..`.
pub async fn callback(
    State(app): State<AppState>,
    PageTenant(tenant): PageTenant,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let page_error = |e: AppError| PageError::new(e, Brand::of(&tenant));
    let mut query = form_fields(query.as_deref().unwrap_or_default());
    let callback = Callback {
        code: query.remove("code"),
        state: query.remove("state"),
        error: query.remove("error"),
        error_description: query.remove("error_description"),
    };
    let state_cookie = browser_session::read_cookie(&headers, oidc::STATE_COOKIE);
    let (host, next) = oidc::finish(&app, &tenant, state_cookie.as_deref(), &callback)
        .await
        .map_err(page_error)?;
    let session = browser_session::open(
        &app,
        &tenant,
        &headers,
        &host,
        None,
        SessionOptions { persistent: true },
    )
    .await
    .map_err(page_error)?;
    let cleared = browser_session::clear_cookie(&app, oidc::STATE_COOKIE).map_err(page_error)?;
    Ok(see_other(&next, vec![session, cleared]))
}
