//! `GET /.well-known/acme-challenge/<token>`: the HTTP-01 answer of an open certificate order,
//! on the hostname being certified only. Any server on the shared database can answer it.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::{app::AppState, error::AppError, store, tenancy::requested_hostname};

/// Route of the challenge answers (RFC 8555 section 8.3).
pub const ROUTE: &str = "/.well-known/acme-challenge/{token}";

/// Longest token looked up; CAs use 43 characters of base64url.
const MAX_TOKEN_LEN: usize = 128;

/// Serves the key authorization published for `token` on the requested hostname.
pub async fn serve(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "not found\n").into_response();
    let well_formed = !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let hostname = requested_hostname(&headers, None, app.config.trust_forwarded_headers);
    let (true, Some(hostname)) = (well_formed, hostname) else {
        return not_found();
    };
    match store::acme::challenge_answer(&app.db, &hostname, &token).await {
        Ok(Some(answer)) => {
            ([(header::CONTENT_TYPE, "application/octet-stream")], answer).into_response()
        }
        Ok(None) => not_found(),
        Err(err) => AppError::from(err).into_response(),
    }
}
