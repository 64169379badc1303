//! `domain/*`: a company's custom domains, their ownership proof and the primary domain.

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{company::company_in_scope, extract::Authed, fields::timestamp};
use crate::{
    app::{App, AppState},
    auth::{Caller, Role},
    error::{AppError, AppResult},
    store::{self, acme::CertificateRow, companies::Company, custom_domains::DomainRow},
    tenancy::{domain_check::WELL_KNOWN_PREFIX, domains},
};

/// Selects one domain of a company.
#[derive(Deserialize, ToSchema)]
pub struct DomainRequest {
    #[schema(minimum = 1, example = 1)]
    pub company_id: i64,
    /// A fully qualified DNS name, e.g. `meet.example.com` (not an IP address, not under the
    /// reseller's domain for `domain/add`).
    #[schema(
        example = "meet.example.com",
        min_length = 3,
        max_length = 253,
        pattern = r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$"
    )]
    pub domain: String,
}

/// Input of `domain/verify`.
#[derive(Deserialize, ToSchema)]
pub struct VerifyDomainRequest {
    #[schema(minimum = 1, example = 1)]
    pub company_id: i64,
    #[schema(
        example = "meet.example.com",
        min_length = 3,
        max_length = 253,
        pattern = r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$"
    )]
    pub domain: String,
    /// Also make it the company's primary domain (used in meeting URLs and links).
    #[serde(default)]
    pub primary: bool,
}

/// Input of `domain/list`.
#[derive(Deserialize, ToSchema)]
pub struct CompanyDomainsRequest {
    #[schema(minimum = 1, example = 1)]
    pub company_id: i64,
}

/// A domain as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct DomainView {
    pub domain: String,
    /// `pending` until ownership is proven, then `verified`.
    #[schema(example = "pending")]
    pub status: &'static str,
    /// Whether meeting URLs and links use it.
    pub primary: bool,
    /// `false` for the company's subdomain of the reseller domain.
    pub custom: bool,
    pub url: String,
    /// While pending: the token to serve, and where (see `verification_url`).
    pub verification_token: Option<String>,
    /// While pending: the URL the server fetches on `domain/verify`; it must answer the token.
    pub verification_url: Option<String>,
    /// While pending: when the domain is removed unless verified by then (7 days after adding).
    pub expires_at: Option<String>,
    pub verified_at: Option<String>,
    pub created_at: String,
    /// The automatic (ACME) certificate of a verified domain, once one was ordered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateView>,
}

/// State of a domain's automatic certificate.
#[derive(Serialize, ToSchema)]
pub struct CertificateView {
    /// `issued`, `ordering` (first order under way or due) or `failed` (none issued yet; retrying).
    #[schema(example = "issued")]
    pub status: &'static str,
    pub issued_at: Option<String>,
    pub expires_at: Option<String>,
    /// What the CA or the order said the last time it failed.
    pub last_error: Option<String>,
    /// When a failed order is tried again.
    pub next_attempt_at: Option<String>,
}

impl From<CertificateRow> for CertificateView {
    fn from(row: CertificateRow) -> Self {
        let status = match (row.issued, row.failures) {
            (true, _) => "issued",
            (false, 0) => "ordering",
            (false, _) => "failed",
        };
        Self {
            status,
            issued_at: row.issued_at.map(timestamp),
            expires_at: row.not_after.map(timestamp),
            last_error: row.last_error,
            next_attempt_at: (row.next_attempt_at > 0).then(|| timestamp(row.next_attempt_at)),
        }
    }
}

/// A single domain answer.
#[derive(Serialize, ToSchema)]
pub struct DomainResponse {
    #[serde(flatten)]
    pub domain: DomainView,
    pub message: String,
}

/// All domains of a company.
#[derive(Serialize, ToSchema)]
pub struct DomainListResponse {
    pub domains: Vec<DomainView>,
    pub message: String,
}

/// Answer of `domain/delete`.
#[derive(Serialize, ToSchema)]
pub struct DomainDeleted {
    pub domain: String,
    pub deleted: bool,
    pub message: String,
}

/// A domain with the state of its automatic certificate.
async fn view(app: &App, d: DomainRow) -> AppResult<DomainView> {
    let certificate = match d.verified_at.is_some() {
        true => store::acme::certificate(&app.db, &d.hostname).await?,
        false => None,
    };
    Ok(DomainView {
        certificate: certificate.map(CertificateView::from),
        ..plain_view(app, d)
    })
}

fn plain_view(app: &App, d: DomainRow) -> DomainView {
    let pending = d.verified_at.is_none();
    DomainView {
        certificate: None,
        url: app.config.base_url(&d.hostname),
        status: if pending { "pending" } else { "verified" },
        primary: d.is_primary,
        custom: d.is_custom,
        verification_url: d
            .verification_token
            .as_ref()
            .filter(|_| pending)
            .map(|t| format!("http://{}{WELL_KNOWN_PREFIX}{t}", d.hostname)),
        verification_token: d.verification_token.filter(|_| pending),
        expires_at: pending
            .then(|| timestamp(domains::pending_expires_at(d.created_at)))
            .filter(|_| d.is_custom),
        verified_at: d.verified_at.map(timestamp),
        created_at: timestamp(d.created_at),
        domain: d.hostname,
    }
}

/// The company the request names, if the caller may manage its domains.
async fn company(app: &App, caller: &Caller, company_id: i64, method: &str) -> AppResult<Company> {
    caller.require(&[Role::ResellerAdmin, Role::CompanyAdmin], method)?;
    company_in_scope(app, caller, company_id).await
}

/// The named domain of a company, as the caller spelled it (normalised); malformed names are 404.
async fn one(app: &App, company_id: i64, hostname: &str) -> AppResult<DomainRow> {
    let hostname = crate::tenancy::normalize_hostname(hostname).unwrap_or_default();
    let mut conn = app.db.pool.acquire().await?;
    store::custom_domains::get(&mut conn, company_id, &hostname)
        .await?
        .ok_or_else(|| AppError::not_found("Domain"))
}

/// Adds a custom domain to a company, pending until `domain/verify` proves ownership.
#[utoipa::path(post, path = "/enterprise_api/domain/add", operation_id = "domain_add", tag = "domain",
    request_body = DomainRequest,
    responses((status = 200, body = DomainResponse), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "Domain in use", body = crate::error::ErrorBody)))]
pub async fn add(
    State(app): State<AppState>,
    request: Authed<DomainRequest>,
) -> AppResult<Json<DomainResponse>> {
    let Authed {
        caller,
        body,
        tenant,
    } = request;
    let company = company(&app, &caller, body.company_id, "domain/add").await?;
    let hostname = domains::custom_hostname(&body.domain)?;
    let row = domains::add(&app, company.id, &tenant.reseller_domain, &hostname).await?;
    Ok(Json(DomainResponse {
        domain: view(&app, row).await?,
        message: "Domain added; serve the token and call domain/verify".into(),
    }))
}

/// Lists a company's domains, its subdomain included.
#[utoipa::path(post, path = "/enterprise_api/domain/list", operation_id = "domain_list", tag = "domain",
    request_body = CompanyDomainsRequest,
    responses((status = 200, body = DomainListResponse), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn list(
    State(app): State<AppState>,
    request: Authed<CompanyDomainsRequest>,
) -> AppResult<Json<DomainListResponse>> {
    let Authed { caller, body, .. } = request;
    let company = company(&app, &caller, body.company_id, "domain/list").await?;
    let mut domains = Vec::new();
    for row in store::custom_domains::list(&app.db, company.id).await? {
        domains.push(view(&app, row).await?);
    }
    Ok(Json(DomainListResponse {
        domains,
        message: "OK".into(),
    }))
}

/// Fetches the token from the domain itself; on success the domain serves the company.
#[utoipa::path(post, path = "/enterprise_api/domain/verify", operation_id = "domain_verify", tag = "domain",
    request_body = VerifyDomainRequest,
    responses((status = 200, body = DomainResponse), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 422, description = "The domain did not answer the token", body = crate::error::ErrorBody),
        (status = 409, description = "The domain changed during verification", body = crate::error::ErrorBody)))]
pub async fn verify(
    State(app): State<AppState>,
    request: Authed<VerifyDomainRequest>,
) -> AppResult<Json<DomainResponse>> {
    let Authed { caller, body, .. } = request;
    let company = company(&app, &caller, body.company_id, "domain/verify").await?;
    let row = one(&app, company.id, &body.domain).await?;
    domains::verify(&app, company.id, &row.hostname, body.primary).await?;
    let row = one(&app, company.id, &row.hostname).await?;
    Ok(Json(DomainResponse {
        domain: view(&app, row).await?,
        message: "Domain verified".into(),
    }))
}

/// Makes a verified domain (or the subdomain) the company's primary domain.
#[utoipa::path(post, path = "/enterprise_api/domain/set_primary", operation_id = "domain_set_primary", tag = "domain",
    request_body = DomainRequest,
    responses((status = 200, body = DomainResponse), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "Domain not verified yet", body = crate::error::ErrorBody)))]
pub async fn set_primary(
    State(app): State<AppState>,
    request: Authed<DomainRequest>,
) -> AppResult<Json<DomainResponse>> {
    let Authed { caller, body, .. } = request;
    let company = company(&app, &caller, body.company_id, "domain/set_primary").await?;
    let row = one(&app, company.id, &body.domain).await?;
    domains::set_primary(&app, company.id, &row.hostname).await?;
    let row = one(&app, company.id, &row.hostname).await?;
    Ok(Json(DomainResponse {
        domain: view(&app, row).await?,
        message: "Primary domain set".into(),
    }))
}

/// Removes a custom domain; if it was primary, the subdomain becomes primary again.
#[utoipa::path(post, path = "/enterprise_api/domain/delete", operation_id = "domain_delete", tag = "domain",
    request_body = DomainRequest,
    responses((status = 200, body = DomainDeleted), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "The company's subdomain", body = crate::error::ErrorBody)))]
pub async fn delete(
    State(app): State<AppState>,
    request: Authed<DomainRequest>,
) -> AppResult<Json<DomainDeleted>> {
    let Authed { caller, body, .. } = request;
    let company = company(&app, &caller, body.company_id, "domain/delete").await?;
    let row = one(&app, company.id, &body.domain).await?;
    domains::delete(&app, company.id, &row.hostname).await?;
    Ok(Json(DomainDeleted {
        domain: row.hostname,
        deleted: true,
        message: "Domain deleted".into(),
    }))
}
