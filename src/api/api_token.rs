//! `api_token/*`: long-lived tokens for server integrations, shown once, stored hashed.

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    extract::Authed,
    fields::{self, Deleted, timestamp},
};
use crate::{
    app::AppState,
    auth::{Role, token},
    error::{AppError, AppResult},
    store,
    tenancy::names,
};

/// Input of `api_token/create`.
#[derive(Deserialize, ToSchema)]
pub struct CreateApiTokenRequest {
    /// What the token is for, e.g. "billing integration".
    /// 1–200 characters, no control characters.
    #[schema(
        example = "billing integration",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
}

/// A new API token; `api_token` is shown only here.
#[derive(Serialize, ToSchema)]
pub struct CreateApiTokenResponse {
    pub id: i64,
    pub name: String,
    pub api_token: String,
    pub token_prefix: String,
    pub created_at: String,
    pub message: String,
}

/// An API token as listed, without its secret.
#[derive(Serialize, ToSchema)]
pub struct ApiTokenView {
    pub id: i64,
    pub name: String,
    pub token_prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// The caller's API tokens.
#[derive(Serialize, ToSchema)]
pub struct ApiTokenListResponse {
    pub api_tokens: Vec<ApiTokenView>,
    pub message: String,
}

/// Selects one API token.
#[derive(Deserialize, ToSchema)]
pub struct ApiTokenIdRequest {
    #[schema(minimum = 1, example = 1)]
    pub api_token_id: i64,
}

const ADMINS: &[Role] = &[Role::ResellerAdmin, Role::CompanyAdmin];

/// Creates an API token acting as the calling host.
#[utoipa::path(post, path = "/enterprise_api/api_token/create", operation_id = "api_token_create", tag = "api_token",
    request_body = CreateApiTokenRequest,
    responses((status = 200, body = CreateApiTokenResponse), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn create(
    State(app): State<AppState>,
    request: Authed<CreateApiTokenRequest>,
) -> AppResult<Json<CreateApiTokenResponse>> {
    let Authed { caller, body, .. } = request;
    caller.require(ADMINS, "api_token/create")?;
    let name = names::display_name("name", &body.name)?;
    let secret = token::new_api_token();
    let prefix: String = secret
        .chars()
        .take(token::API_TOKEN_PREFIX.len() + 6)
        .collect();
    let id = store::credentials::insert_api_token(
        &app.db,
        &token::hash_secret(&secret),
        &prefix,
        caller.host_id,
        caller.reseller_id,
        &name,
    )
    .await?;
    Ok(Json(CreateApiTokenResponse {
        id,
        name,
        api_token: secret,
        token_prefix: prefix,
        created_at: timestamp(store::now()),
        message: "API token created; store it now, it is not shown again".into(),
    }))
}

/// Lists the calling host's API tokens.
#[utoipa::path(post, path = "/enterprise_api/api_token/list", operation_id = "api_token_list", tag = "api_token",
    request_body = crate::api::openapi::AuthOnly,
    responses((status = 200, body = ApiTokenListResponse), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(app): State<AppState>,
    request: Authed<serde_json::Value>,
) -> AppResult<Json<ApiTokenListResponse>> {
    let caller = request.caller;
    caller.require(ADMINS, "api_token/list")?;
    let tokens = store::credentials::list_api_tokens(&app.db, caller.host_id).await?;
    Ok(Json(ApiTokenListResponse {
        api_tokens: tokens
            .into_iter()
            .map(|t| ApiTokenView {
                id: t.id,
                name: t.name,
                token_prefix: t.token_prefix,
                created_at: timestamp(t.created_at),
                last_used_at: t.last_used_at.map(timestamp),
            })
            .collect(),
        message: "OK".into(),
    }))
}

/// Revokes one of the calling host's API tokens.
#[utoipa::path(post, path = "/enterprise_api/api_token/revoke", operation_id = "api_token_revoke", tag = "api_token",
    request_body = ApiTokenIdRequest,
    responses((status = 200, body = Deleted), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke(
    State(app): State<AppState>,
    request: Authed<ApiTokenIdRequest>,
) -> AppResult<Json<Deleted>> {
    let Authed { caller, body, .. } = request;
    caller.require(ADMINS, "api_token/revoke")?;
    let id = fields::id("api_token_id", body.api_token_id)?;
    if !store::credentials::revoke_api_token(&app.db, caller.host_id, id).await? {
        return Err(AppError::not_found("API token"));
    }
    Ok(Json(Deleted {
        id,
        deleted: true,
        message: "API token revoked".into(),
    }))
}
