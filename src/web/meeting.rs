//! The meeting room page at `/conf/call/<access_code>`: pre-join name form, then the video grid
//! driven by `static/meeting.js` over the signalling WebSocket.

use askama::Template;
use axum::{
    extract::{Path, State},
    response::Html,
};

use super::{Brand, PageError, PageTenant, render};
use crate::{app::AppState, signal};

#[derive(Template)]
#[template(path = "meeting.html")]
struct MeetingPage<'a> {
    brand: &'a Brand,
    host_name: &'a str,
    access_code: &'a str,
}

/// `GET /conf/call/<access_code>`.
pub async fn show(
    State(state): State<AppState>,
    PageTenant(tenant): PageTenant,
    Path(code): Path<String>,
) -> Result<Html<String>, PageError> {
    let brand = Brand::of(&tenant);
    let room = signal::resolve_room(&state, &tenant, &code)
        .await
        .map_err(|e| PageError::new(e, Brand::of(&tenant)))?;
    render(&MeetingPage {
        brand: &brand,
        host_name: &room.host_name,
        access_code: &room.record.access_code,
    })
}
