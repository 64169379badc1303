//! `GET /.well-known/meeting-domain/<token>`: answers a pending custom domain's verification
//! token, on that domain only, so that `domain/verify` (or the owner) can see the DNS points here.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::{app::AppState, error::AppError, store, tenancy::requested_hostname};

/// Route of the token (the prefix is shared with the verification fetch).
pub const ROUTE: &str = "/.well-known/meeting-domain/{token}";

/// Serves the token as plain text when `token` belongs to the pending domain asked for.
pub async fn serve(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "not found\n").into_response();
    let Some(hostname) = requested_hostname(&headers, None, app.config.trust_forwarded_headers)
    else {
        return not_found();
    };
    match store::custom_domains::pending_token_matches(&app.db, &hostname, &token).await {
        Ok(true) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], token).into_response(),
        Ok(false) => not_found(),
        Err(err) => AppError::from(err).into_response(),
    }
}
