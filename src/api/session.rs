//! `authenticate` and `logout`: API sessions for hosts with a password.

use std::net::SocketAddr;

use axum::{
    Json,
    extract::{ConnectInfo, State},
    http::HeaderMap,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    extract::{ApiJson, Authed},
    fields::{MessageOnly, timestamp},
};
use crate::{
    app::AppState,
    auth::{caller::Credential, password, token},
    error::{AppError, AppResult},
    store,
    tenancy::names,
};

/// Credentials of a host (at least COMPANY_ADMIN for company and host management).
#[derive(Deserialize, ToSchema)]
pub struct AuthenticateRequest {
    /// Matched case-insensitively; anything that is not an account's address answers 401.
    #[schema(example = "admin@localhost", min_length = 3, max_length = 254)]
    pub email: String,
    /// Passwords are 8–128 characters; a wrong one answers 401.
    #[schema(example = "Sup3rSecret!", max_length = 128)]
    pub password: String,
}

/// A new API session.
#[derive(Serialize, ToSchema)]
pub struct AuthenticateResponse {
    /// Send as `auth_token` in later requests (or `Authorization: Bearer`).
    pub auth_token: String,
    /// When the session expires (RFC 3339).
    pub expires_at: String,
    pub host_id: i64,
    pub role: String,
    pub message: String,
}

/// Exchanges a host's email and password for an API session token.
#[utoipa::path(post, path = "/enterprise_api/authenticate", operation_id = "authenticate", tag = "session", security(()),
    request_body = AuthenticateRequest,
    responses(
        (status = 200, body = AuthenticateResponse),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, description = "Invalid email or password", body = crate::error::ErrorBody),
        (status = 429, description = "Too many attempts; see Retry-After", body = crate::error::ErrorBody),
        (status = 503, description = "Password hashing is at capacity; see Retry-After", body = crate::error::ErrorBody),
    ))]
pub async fn authenticate(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request: ApiJson<AuthenticateRequest>,
) -> AppResult<Json<AuthenticateResponse>> {
    let ApiJson { tenant, body } = request;
    let bad_credentials =
        || AppError::unauthorized("invalid_credentials", "Invalid email or password");
    let email = names::email("email", &body.email).map_err(|_| bad_credentials())?;
    if body.password.len() > 4 * password::MAX_LEN {
        return Err(bad_credentials());
    }
    app.login_limiter.check(
        tenant.reseller_id,
        &email,
        client_address(&app, peer, &headers),
    )?;
    let host = store::hosts::find_by_email(&app.db, tenant.reseller_id, &email).await?;
    let stored = host.as_ref().and_then(|h| h.password_hash.clone());
    if !password::verify(body.password, stored).await? {
        return Err(bad_credentials());
    }
    let host = host.ok_or_else(bad_credentials)?;
    let secret = token::random_secret();
    let expires_at = store::now() + app.config.session_ttl_secs;
    store::credentials::insert_session(
        &app.db,
        &token::hash_secret(&secret),
        host.id,
        host.reseller_id,
        expires_at,
    )
    .await?;
    Ok(Json(AuthenticateResponse {
        auth_token: secret,
        expires_at: timestamp(expires_at),
        host_id: host.id,
        role: host.role,
        message: "Authenticated".into(),
    }))
}

/// The client's address, from `X-Forwarded-For` only when the operator trusts a proxy. The last
/// entry is the one our proxy appended; earlier entries come from the client and can be forged.
pub fn client_address(app: &AppState, peer: SocketAddr, headers: &HeaderMap) -> std::net::IpAddr {
    if app.config.trust_forwarded_headers
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    peer.ip()
}

/// Ends the API session whose token is presented.
#[utoipa::path(post, path = "/enterprise_api/logout", operation_id = "logout", tag = "session",
    request_body = crate::api::openapi::AuthOnly,
    responses(
        (status = 200, body = MessageOnly),
        (status = 400, description = "An API token was presented; revoke it instead", body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
    ))]
pub async fn logout(
    State(app): State<AppState>,
    request: Authed<serde_json::Value>,
) -> AppResult<Json<MessageOnly>> {
    match request.caller.credential {
        Credential::Session(id) => {
            store::credentials::delete_session(&app.db, id).await?;
            Ok(Json(MessageOnly {
                message: "Logged out".into(),
            }))
        }
        Credential::ApiToken(_) => Err(AppError::bad_request(
            "api_token_logout",
            "API tokens do not log out; revoke them with api_token/revoke",
        )),
    }
}
