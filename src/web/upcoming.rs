//! `/conf/calls/upcoming`: the signed-in host's personal room and upcoming conferences.

use askama::Template;
use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, header},
    response::{Html, IntoResponse, Response},
};

use super::{Brand, PageError, PageTenant, csrf, login::host_or_login, render};
use crate::{app::AppState, tenancy::hosts};

/// Path of this page.
pub const PATH: &str = "/conf/calls/upcoming";

/// One conference in the list, ready to show.
#[derive(Debug, Clone)]
pub struct UpcomingConference {
    pub title: String,
    /// Start time as shown to the host.
    pub starts_at: String,
    /// Link to the conference's meeting page.
    pub url: String,
}

#[derive(Template)]
#[template(path = "upcoming.html")]
struct UpcomingPage<'a> {
    brand: &'a Brand,
    host_name: &'a str,
    meeting_url: &'a str,
    conferences: &'a [UpcomingConference],
    csrf_token: &'a str,
}

/// Renders the page for a host with its `conferences` (empty: "no upcoming conferences").
pub fn upcoming_page(
    brand: &Brand,
    host_name: &str,
    meeting_url: &str,
    conferences: &[UpcomingConference],
    csrf_token: &str,
) -> Result<Html<String>, PageError> {
    render(&UpcomingPage {
        brand,
        host_name,
        meeting_url,
        conferences,
        csrf_token,
    })
}

/// `GET /conf/calls/upcoming`; hosts without a session are sent to `/login`.
pub async fn show(
    State(app): State<AppState>,
    PageTenant(tenant): PageTenant,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let signed_in = match host_or_login(&app, &tenant, &headers, PATH).await {
        Ok(signed_in) => signed_in,
        Err(redirect) => return Ok(redirect),
    };
    let (csrf_token, cookie) = csrf::issue(&app, &tenant.hostname, &headers);
    let conferences: Vec<UpcomingConference> = Vec::new();
    let html = upcoming_page(
        &Brand::of(&tenant),
        &signed_in.host.name,
        &hosts::meeting_url(&app, &signed_in.host),
        &conferences,
        &csrf_token,
    )?;
    let mut response = html.into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
