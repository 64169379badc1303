//! `company/*`: a reseller's customers.

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    extract::Authed,
    fields::{self, Deleted, Paging, timestamp},
};
use crate::{
    app::{App, AppState},
    auth::{Caller, Role},
    error::{AppError, AppResult},
    store::{self, companies::Company},
    tenancy::{companies, names},
};

/// Input of `company/create`.
#[derive(Deserialize, ToSchema)]
pub struct CreateCompanyRequest {
    /// DNS label (letters, digits, inner hyphens; stored lowercase); the company is served at
    /// `<subdomain>.<reseller domain>`. Reserved: `reseller-admin`, `www`, `api`, `admin`,
    /// `static`, `media`.
    #[schema(
        example = "joe",
        min_length = 1,
        max_length = 63,
        pattern = r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$"
    )]
    pub subdomain: String,
    /// Display name: 1–200 characters, no control characters.
    #[schema(
        example = "The Joe Company",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    /// Whether the company's hosts may sign in through its own OpenID Connect provider.
    #[serde(default)]
    pub openid_provider: bool,
    /// Dial-in number shown with its hosts' meetings: digits and `+ - ( ) .` and spaces, at most
    /// 32 characters; `""` or absent: none.
    #[serde(default)]
    #[schema(
        example = "+1 (555) 010-0000",
        max_length = 32,
        pattern = r"^[0-9+\-(). ]*$"
    )]
    pub primary_dialin_number: Option<String>,
}

/// Answer of `company/create`.
#[derive(Serialize, ToSchema)]
pub struct CreateCompanyResponse {
    pub id: i64,
    pub domain: String,
    pub url: String,
    pub message: String,
}

/// A company as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct CompanyView {
    pub id: i64,
    pub subdomain: String,
    pub name: String,
    pub openid_provider: bool,
    pub primary_dialin_number: Option<String>,
    pub domain: String,
    pub url: String,
    pub is_admin_company: bool,
    pub host_count: i64,
    /// Origins allowed to show the company's pages in a frame (besides the company domain).
    pub embed_origins: Vec<String>,
    /// Meeting controls hidden on the company's meeting pages.
    pub hidden_controls: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A single company answer.
#[derive(Serialize, ToSchema)]
pub struct CompanyResponse {
    #[serde(flatten)]
    pub company: CompanyView,
    pub message: String,
}

/// A page of companies.
#[derive(Serialize, ToSchema)]
pub struct CompanyListResponse {
    pub companies: Vec<CompanyView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub message: String,
}

/// Selects one company.
#[derive(Deserialize, ToSchema)]
pub struct CompanyIdRequest {
    #[schema(minimum = 1, example = 1)]
    pub company_id: i64,
}

/// Input of `company/update`: only the fields present change.
#[derive(Deserialize, ToSchema)]
pub struct UpdateCompanyRequest {
    #[schema(minimum = 1, example = 1)]
    pub company_id: i64,
    /// As in `company/create` (reseller admins only); the reseller's admin company keeps its
    /// subdomain.
    #[schema(
        example = "joe",
        min_length = 1,
        max_length = 63,
        pattern = r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$"
    )]
    pub subdomain: Option<String>,
    /// Display name: 1–200 characters, no control characters.
    #[schema(
        example = "The Joe Company",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: Option<String>,
    /// Reseller admins only.
    pub openid_provider: Option<bool>,
    /// As in `company/create`; `""` clears it.
    #[schema(
        example = "+1 (555) 010-0000",
        max_length = 32,
        pattern = r"^[0-9+\-(). ]*$"
    )]
    pub primary_dialin_number: Option<String>,
    /// Replaces the origins allowed to embed the company's pages (`[]` clears them), each
    /// `scheme://host[:port]` with http or https.
    #[schema(example = json!(["https://app.partner.tld"]), max_items = 20)]
    pub embed_origins: Option<Vec<String>>,
    /// Replaces the meeting controls hidden on the company's meeting pages (`[]` shows all), by
    /// the names of the embedding `hideButtons` option: camera, chat, desktop, fullscreen, hangup,
    /// invite, microphone, raisehand, recording, security, settings, tileview and the others listed
    /// in the API reference.
    #[schema(example = json!(["recording", "invite"]), value_type = Option<Vec<crate::api::schema::MeetingControl>>)]
    pub hidden_controls: Option<Vec<String>>,
}

fn view(app: &App, c: Company) -> CompanyView {
    CompanyView {
        url: app.config.base_url(&c.hostname),
        id: c.id,
        subdomain: c.subdomain,
        name: c.name,
        openid_provider: c.openid_provider,
        primary_dialin_number: c.primary_dialin_number,
        domain: c.hostname,
        is_admin_company: c.is_admin_company,
        host_count: c.host_count,
        embed_origins: serde_json::from_str(&c.embed_origins).unwrap_or_default(),
        hidden_controls: serde_json::from_str(&c.hidden_controls).unwrap_or_default(),
        created_at: timestamp(c.created_at),
        updated_at: timestamp(c.updated_at),
    }
}

/// Loads a company the caller may see; anything else is 404.
pub async fn company_in_scope(app: &App, caller: &Caller, company_id: i64) -> AppResult<Company> {
    fields::id("company_id", company_id)?;
    let company = store::companies::get(&app.db, caller.reseller_id, company_id).await?;
    company
        .filter(|c| caller.sees_company(c.id))
        .ok_or_else(|| AppError::not_found("Company"))
}

/// Creates a company under the caller's reseller.
#[utoipa::path(post, path = "/enterprise_api/company/create", operation_id = "company_create", tag = "company",
    request_body = CreateCompanyRequest,
    responses((status = 200, body = CreateCompanyResponse), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 409, description = "Subdomain in use", body = crate::error::ErrorBody)))]
pub async fn create(
    State(app): State<AppState>,
    request: Authed<CreateCompanyRequest>,
) -> AppResult<Json<CreateCompanyResponse>> {
    let Authed {
        caller,
        tenant,
        body,
    } = request;
    caller.require(&[Role::ResellerAdmin], "company/create")?;
    let input = companies::NewCompanyInput {
        subdomain: names::company_subdomain(&body.subdomain)?,
        name: names::display_name("name", &body.name)?,
        openid_provider: body.openid_provider,
        primary_dialin_number: companies::dialin_number(body.primary_dialin_number.as_deref())?,
    };
    let domain = format!("{}.{}", input.subdomain, tenant.reseller_domain);
    let id = companies::create(&app, caller.reseller_id, &tenant.reseller_domain, input).await?;
    Ok(Json(CreateCompanyResponse {
        id,
        url: app.config.base_url(&domain),
        domain,
        message: "Company created".into(),
    }))
}

/// Shows one company.
#[utoipa::path(post, path = "/enterprise_api/company/get", operation_id = "company_get", tag = "company",
    request_body = CompanyIdRequest,
    responses((status = 200, body = CompanyResponse), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(app): State<AppState>,
    request: Authed<CompanyIdRequest>,
) -> AppResult<Json<CompanyResponse>> {
    let Authed { caller, body, .. } = request;
    caller.require(&[Role::ResellerAdmin, Role::CompanyAdmin], "company/get")?;
    let company = company_in_scope(&app, &caller, body.company_id).await?;
    Ok(Json(CompanyResponse {
        company: view(&app, company),
        message: "OK".into(),
    }))
}

/// Lists the reseller's companies.
#[utoipa::path(post, path = "/enterprise_api/company/list", operation_id = "company_list", tag = "company",
    request_body = Paging,
    responses((status = 200, body = CompanyListResponse), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(app): State<AppState>,
    request: Authed<Paging>,
) -> AppResult<Json<CompanyListResponse>> {
    let Authed { caller, body, .. } = request;
    caller.require(&[Role::ResellerAdmin], "company/list")?;
    let page = body.page()?;
    let found = store::companies::list(&app.db, caller.reseller_id, page).await?;
    Ok(Json(CompanyListResponse {
        companies: found.items.into_iter().map(|c| view(&app, c)).collect(),
        total: found.total,
        limit: page.limit,
        offset: page.offset,
        message: "OK".into(),
    }))
}

/// Changes a company. Company admins may change only its name and dial-in number.
#[utoipa::path(post, path = "/enterprise_api/company/update", operation_id = "company_update", tag = "company",
    request_body = UpdateCompanyRequest,
    responses((status = 200, body = CompanyResponse), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn update(
    State(app): State<AppState>,
    request: Authed<UpdateCompanyRequest>,
) -> AppResult<Json<CompanyResponse>> {
    let Authed {
        caller,
        tenant,
        body,
    } = request;
    caller.require(&[Role::ResellerAdmin, Role::CompanyAdmin], "company/update")?;
    let before = company_in_scope(&app, &caller, body.company_id).await?;
    if caller.role != Role::ResellerAdmin
        && (body.subdomain.is_some() || body.openid_provider.is_some())
    {
        return Err(AppError::forbidden(
            "Only a reseller admin may change subdomain or openid_provider",
        ));
    }
    let mut after = before.clone();
    if let Some(subdomain) = &body.subdomain {
        after.subdomain = names::company_subdomain(subdomain)?;
    }
    if let Some(name) = &body.name {
        after.name = names::display_name("name", name)?;
    }
    if let Some(openid) = body.openid_provider {
        after.openid_provider = openid;
    }
    if let Some(number) = &body.primary_dialin_number {
        after.primary_dialin_number = companies::dialin_number(Some(number))?;
    }
    if let Some(origins) = &body.embed_origins {
        let origins = crate::auth::sso::targets::embed_origins(origins)?;
        after.embed_origins = serde_json::to_string(&origins).map_err(AppError::internal)?;
    }
    if let Some(controls) = &body.hidden_controls {
        let controls = companies::hidden_controls(controls)?;
        after.hidden_controls = serde_json::to_string(&controls).map_err(AppError::internal)?;
    }
    companies::save(&app, &tenant.reseller_domain, &before, &after).await?;
    let company = company_in_scope(&app, &caller, before.id).await?;
    Ok(Json(CompanyResponse {
        company: view(&app, company),
        message: "Company updated".into(),
    }))
}

/// Deletes a company with all its hosts and their credentials.
#[utoipa::path(post, path = "/enterprise_api/company/delete", operation_id = "company_delete", tag = "company",
    request_body = CompanyIdRequest,
    responses((status = 200, body = Deleted), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, description = "The reseller's admin company", body = crate::error::ErrorBody)))]
pub async fn delete(
    State(app): State<AppState>,
    request: Authed<CompanyIdRequest>,
) -> AppResult<Json<Deleted>> {
    let Authed { caller, body, .. } = request;
    caller.require(&[Role::ResellerAdmin], "company/delete")?;
    let company = company_in_scope(&app, &caller, body.company_id).await?;
    companies::delete(&app, &company).await?;
    Ok(Json(Deleted {
        id: company.id,
        deleted: true,
        message: "Company deleted".into(),
    }))
}
