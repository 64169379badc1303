//! The live stream player at `/livestream/<access_code>`: a themed, embeddable page that
//! watches a meeting as a hidden, receive-only viewer (see docs/livestream.md), driven by
//! `static/livestream.js`.

use askama::Template;
use axum::{
    extract::{Path, State},
    response::Html,
};

use super::{Brand, PageError, PageTenant, render};
use crate::{app::AppState, signal};

#[derive(Template)]
#[template(path = "livestream.html")]
struct LivestreamPage<'a> {
    brand: &'a Brand,
    /// The conference's subject, else "Meeting with <host>".
    title: &'a str,
    access_code: &'a str,
    /// The room admits viewers only with its security PIN, as it does guests.
    needs_pin: bool,
    /// The company hides the `fullscreen` control (`company/update` `hidden_controls`).
    hide_fullscreen: bool,
}

/// `GET /livestream/<access_code>`; an unknown code is the themed 404 of the meeting page.
pub async fn show(
    State(state): State<AppState>,
    PageTenant(tenant): PageTenant,
    Path(code): Path<String>,
) -> Result<Html<String>, PageError> {
    let brand = Brand::of(&tenant);
    let page_error = |e| PageError::new(e, Brand::of(&tenant));
    let room = signal::resolve_room(&state, &tenant, &code)
        .await
        .map_err(page_error)?;
    let hidden = super::meeting::company_hidden_controls(&state, &tenant)
        .await
        .map_err(page_error)?;
    render(&LivestreamPage {
        brand: &brand,
        title: &room.title,
        access_code: &room.record.access_code,
        needs_pin: room.security_pin.is_some(),
        hide_fullscreen: hidden.iter().any(|c| c == "fullscreen"),
    })
}
