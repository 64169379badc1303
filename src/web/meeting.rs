//! The meeting room page at `/conf/call/<access_code>`: pre-join name form, then the video grid
//! driven by `static/meeting.js` over the signalling WebSocket.

use askama::Template;
use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::Html,
};

use super::{Brand, PageError, PageTenant, render};
use crate::{app::AppState, auth::browser_session, signal, store};

#[derive(Template)]
#[template(path = "meeting.html")]
struct MeetingPage<'a> {
    brand: &'a Brand,
    /// The conference's subject, else "Meeting with <host>".
    title: &'a str,
    host_name: &'a str,
    access_code: &'a str,
    /// The room's host is signed in: it joins as moderator, with its name filled in.
    signed_in_host: bool,
    /// Where the signed-in host goes when it leaves (from `/auth`, validated there).
    after_call_url: Option<&'a str>,
    /// Comma-separated meeting controls the company hides (`company/update` `hidden_controls`).
    hidden_controls: &'a str,
    /// The room admits guests only with its security PIN.
    needs_pin: bool,
    /// Space-separated origins allowed to frame and drive the page (`embed_origins`), the same
    /// list as the `frame-ancestors` header, so the page's postMessage checks match the policy.
    embed_origins: String,
}

/// The meeting controls the tenant's company hides (`company/update` `hidden_controls`).
pub(super) async fn company_hidden_controls(
    state: &AppState,
    tenant: &crate::tenancy::Tenant,
) -> crate::error::AppResult<Vec<String>> {
    Ok(
        store::companies::get(&state.db, tenant.reseller_id, tenant.company_id)
            .await?
            .and_then(|c| serde_json::from_str::<Vec<String>>(&c.hidden_controls).ok())
            .unwrap_or_default(),
    )
}

/// `GET /conf/call/<access_code>`.
pub async fn show(
    State(state): State<AppState>,
    PageTenant(tenant): PageTenant,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Html<String>, PageError> {
    let brand = Brand::of(&tenant);
    let page_error = |e| PageError::new(e, Brand::of(&tenant));
    let room = signal::resolve_room(&state, &tenant, &code)
        .await
        .map_err(page_error)?;
    let host_session = browser_session::current(&state, &tenant, &headers)
        .await
        .map_err(page_error)?
        .filter(|s| room.record.host_id == Some(s.host.id));
    let embed_origins = store::sso::embed_origins_for_hostname(&state.db, &tenant.hostname)
        .await
        .map_err(|e| page_error(e.into()))?
        .join(" ");
    let hidden_controls = company_hidden_controls(&state, &tenant)
        .await
        .map_err(page_error)?
        .join(",");
    render(&MeetingPage {
        hidden_controls: &hidden_controls,
        brand: &brand,
        title: &room.title,
        host_name: &room.host_name,
        access_code: &room.record.access_code,
        signed_in_host: host_session.is_some(),
        after_call_url: host_session
            .as_ref()
            .and_then(|s| s.after_call_url.as_deref()),
        needs_pin: room.security_pin.is_some(),
        embed_origins,
    })
}
