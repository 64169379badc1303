//! `company/sso_secret/reset` and `company/openid/*`: how a company's hosts sign in without a
//! password — signed login tokens for `/auth`, and the company's own OpenID Connect provider.

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    company::{CompanyIdRequest, company_in_scope},
    extract::Authed,
    fields::{Deleted, timestamp},
};
use crate::{
    app::{App, AppState},
    auth::{
        Role,
        sso::{self, jwt, oidc},
    },
    error::{AppError, AppResult},
    outbound::Policy,
    store::{self, companies::Company, sso::OidcSettings},
    tenancy::names,
};

/// Answer of `company/sso_secret/reset`: the secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct SsoSecretResponse {
    pub company_id: i64,
    /// HMAC-SHA256 key (its UTF-8 bytes) for signing login tokens; keep it on your server.
    pub sso_secret: String,
    /// `HS256`.
    pub algorithm: String,
    /// Longest accepted token lifetime (`exp` − `iat`), in seconds.
    pub max_token_lifetime_secs: i64,
    pub message: String,
}

/// Issues a new secret for signing the company's `/auth?token=` login tokens; the previous one
/// stops working at once.
#[utoipa::path(post, path = "/enterprise_api/company/sso_secret/reset", operation_id = "company_sso_secret_reset", tag = "sso",
    request_body = CompanyIdRequest,
    responses((status = 200, body = SsoSecretResponse), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn reset_sso_secret(
    State(app): State<AppState>,
    request: Authed<CompanyIdRequest>,
) -> AppResult<Json<SsoSecretResponse>> {
    let Authed { caller, body, .. } = request;
    caller.require(
        &[Role::ResellerAdmin, Role::CompanyAdmin],
        "company/sso_secret/reset",
    )?;
    let company = company_in_scope(&app, &caller, body.company_id).await?;
    let secret = sso::reset_signing_secret(&app, &company, caller.role).await?;
    Ok(Json(SsoSecretResponse {
        company_id: company.id,
        sso_secret: secret,
        algorithm: "HS256".into(),
        max_token_lifetime_secs: jwt::MAX_LIFETIME_SECS,
        message: "SSO secret reset; the previous secret no longer works".into(),
    }))
}

/// Input of `company/openid/set`.
#[derive(Deserialize, ToSchema)]
pub struct SetOpenidRequest {
    #[schema(minimum = 1, example = 1)]
    pub company_id: i64,
    /// The provider's issuer (discovery at `<issuer>/.well-known/openid-configuration`); https on
    /// a public address (private addresses and plain http to them only when the operator allows);
    /// no credentials, query or fragment.
    #[schema(
        example = "https://login.company.tld",
        min_length = 1,
        max_length = 2048,
        pattern = r"^\s*https?://[^\s/?#@]+[^\s?#]*\s*$"
    )]
    pub issuer_url: String,
    /// 1–255 characters, no control characters.
    #[schema(
        example = "confab",
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub client_id: String,
    /// At most 1024 characters, no control characters. Required the first time; omit (or `""`)
    /// to keep the stored one.
    #[schema(
        example = "s3cr3t-from-the-provider",
        max_length = 1024,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub client_secret: Option<String>,
    /// Shown on the login page as "Sign in with <provider_name>"; defaults to the issuer's host.
    /// At most 200 characters, no control characters.
    #[schema(
        example = "Company SSO",
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub provider_name: Option<String>,
    /// Only verified emails of this domain are matched or provisioned; `""` clears it.
    #[schema(
        example = "company.tld",
        max_length = 253,
        pattern = r"^\s*(([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)?\s*$"
    )]
    pub allowed_email_domain: Option<String>,
    /// Also match hosts by verified email when no host has the identity's `openid_sub`.
    #[serde(default)]
    pub match_email: bool,
    /// Create a HOST for an identity that matches no host (needs a verified email).
    #[serde(default)]
    pub provision_hosts: bool,
}

/// A company's OpenID Connect settings as the API shows them (never with the client secret).
#[derive(Serialize, ToSchema)]
pub struct OpenidView {
    pub company_id: i64,
    /// Whether settings are stored.
    pub configured: bool,
    /// Whether the company's `openid_provider` switch is on (sign-in works only when both are).
    pub openid_provider: bool,
    pub issuer_url: Option<String>,
    pub client_id: Option<String>,
    pub provider_name: Option<String>,
    pub allowed_email_domain: Option<String>,
    pub match_email: bool,
    pub provision_hosts: bool,
    /// The callback URL to register at the provider.
    pub redirect_uri: String,
    pub updated_at: Option<String>,
    pub message: String,
}

fn view(app: &App, company: &Company, settings: Option<OidcSettings>, message: &str) -> OpenidView {
    OpenidView {
        company_id: company.id,
        configured: settings.is_some(),
        openid_provider: company.openid_provider,
        redirect_uri: oidc::redirect_uri(app, &company.hostname),
        match_email: settings.as_ref().is_some_and(|s| s.match_email),
        provision_hosts: settings.as_ref().is_some_and(|s| s.provision_hosts),
        updated_at: settings.as_ref().map(|s| timestamp(s.updated_at)),
        issuer_url: settings.as_ref().map(|s| s.issuer_url.clone()),
        client_id: settings.as_ref().map(|s| s.client_id.clone()),
        provider_name: settings.as_ref().map(|s| s.provider_name.clone()),
        allowed_email_domain: settings.and_then(|s| s.allowed_email_domain),
        message: message.into(),
    }
}

/// An issuer URL the server may fetch under the outbound policy (https on a public host, unless
/// the operator allows private addresses); no credentials, query or fragment.
fn issuer_url(policy: Policy, value: &str) -> AppResult<url::Url> {
    let bad = |why: &str| AppError::invalid_field("issuer_url", why);
    let parsed = url::Url::parse(value.trim()).map_err(|_| bad("must be an absolute URL"))?;
    policy
        .check_url(&parsed)
        .map_err(|refusal| bad(&refusal.to_string()))?;
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
        return Err(bad("may not have credentials, a query or a fragment"));
    }
    Ok(parsed)
}

fn required_text(field: &str, value: Option<&str>, max: usize) -> AppResult<String> {
    names::optional_text(field, value, max)?
        .ok_or_else(|| AppError::bad_request("missing_field", format!("{field}: is required")))
}

/// Sets the company's OpenID Connect provider. The company must have `openid_provider` on.
#[utoipa::path(post, path = "/enterprise_api/company/openid/set", operation_id = "company_openid_set", tag = "sso",
    request_body = SetOpenidRequest,
    responses((status = 200, body = OpenidView), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "openid_provider is off for the company", body = crate::error::ErrorBody)))]
pub async fn set_openid(
    State(app): State<AppState>,
    request: Authed<SetOpenidRequest>,
) -> AppResult<Json<OpenidView>> {
    let Authed { caller, body, .. } = request;
    caller.require(
        &[Role::ResellerAdmin, Role::CompanyAdmin],
        "company/openid/set",
    )?;
    let company = company_in_scope(&app, &caller, body.company_id).await?;
    if !company.openid_provider {
        return Err(AppError::conflict(
            "openid_provider_off",
            "openid_provider is off for this company; a reseller admin can turn it on with company/update",
        ));
    }
    let issuer = issuer_url(Policy::from_config(&app.config), &body.issuer_url)?;
    let client_id = required_text("client_id", Some(&body.client_id), 255)?;
    let before = store::sso::oidc_settings(&app.db, company.reseller_id, company.id).await?;
    let client_secret =
        match names::optional_text("client_secret", body.client_secret.as_deref(), 1024)? {
            Some(secret) => secret,
            None => before.map(|b| b.client_secret).ok_or_else(|| {
                AppError::bad_request("missing_field", "client_secret: is required")
            })?,
        };
    let provider_name = match body
        .provider_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(name) => names::display_name("provider_name", name)?,
        None => issuer.host_str().unwrap_or("your company").to_string(),
    };
    let allowed_email_domain = body
        .allowed_email_domain
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| names::domain("allowed_email_domain", d))
        .transpose()?;
    let settings = OidcSettings {
        company_id: company.id,
        reseller_id: company.reseller_id,
        // Kept as typed: the issuer must match the provider's `issuer` exactly.
        issuer_url: body.issuer_url.trim().to_string(),
        client_id,
        client_secret,
        provider_name,
        allowed_email_domain,
        match_email: body.match_email,
        provision_hosts: body.provision_hosts,
        issuer_role: caller.role.as_str().to_string(),
        updated_at: store::now(),
    };
    store::sso::save_oidc_settings(&app.db, &settings).await?;
    Ok(Json(view(
        &app,
        &company,
        Some(settings),
        "OpenID Connect settings saved",
    )))
}

/// Shows the company's OpenID Connect settings (without the client secret).
#[utoipa::path(post, path = "/enterprise_api/company/openid/get", operation_id = "company_openid_get", tag = "sso",
    request_body = CompanyIdRequest,
    responses((status = 200, body = OpenidView), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_openid(
    State(app): State<AppState>,
    request: Authed<CompanyIdRequest>,
) -> AppResult<Json<OpenidView>> {
    let Authed { caller, body, .. } = request;
    caller.require(
        &[Role::ResellerAdmin, Role::CompanyAdmin],
        "company/openid/get",
    )?;
    let company = company_in_scope(&app, &caller, body.company_id).await?;
    let settings = store::sso::oidc_settings(&app.db, company.reseller_id, company.id).await?;
    Ok(Json(view(&app, &company, settings, "OK")))
}

/// Removes the company's OpenID Connect settings; its hosts can no longer sign in through it.
#[utoipa::path(post, path = "/enterprise_api/company/openid/delete", operation_id = "company_openid_delete", tag = "sso",
    request_body = CompanyIdRequest,
    responses((status = 200, body = Deleted), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete_openid(
    State(app): State<AppState>,
    request: Authed<CompanyIdRequest>,
) -> AppResult<Json<Deleted>> {
    let Authed { caller, body, .. } = request;
    caller.require(
        &[Role::ResellerAdmin, Role::CompanyAdmin],
        "company/openid/delete",
    )?;
    let company = company_in_scope(&app, &caller, body.company_id).await?;
    if !store::sso::delete_oidc_settings(&app.db, company.reseller_id, company.id).await? {
        return Err(AppError::not_found("OpenID Connect settings"));
    }
    Ok(Json(Deleted {
        id: company.id,
        deleted: true,
        message: "OpenID Connect settings removed".into(),
    }))
}
