//! `host/*`: the users of a company and their personal meeting rooms.

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    company::company_in_scope,
    extract::Authed,
    fields::{self, Deleted, NumberObject, Paging, timestamp},
};
use crate::{
    app::{App, AppState},
    auth::{Caller, Role, caller::Credential, password},
    error::{AppError, AppResult},
    scheduling::rules::PIN_DIGITS,
    store::{self, companies::Company, hosts::Host},
    tenancy::{
        hosts::{self, CODE_DIGITS},
        names,
    },
};

/// Input of `host/create`, field by field as the seed.
#[derive(Deserialize, ToSchema)]
pub struct CreateHostRequest {
    /// Required for reseller admins; company admins default to their own company.
    #[schema(minimum = 1, example = 1)]
    pub company_id: Option<i64>,
    /// Display name: 1–200 characters, no control characters.
    #[schema(
        example = "John Host",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    /// Unique in the reseller; stored lowercase; at most 64 characters before the `@`.
    #[schema(
        example = "john@company.tld",
        min_length = 3,
        max_length = 254,
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
    )]
    pub email: String,
    /// 8–128 characters. Omit to let the host choose one through the password creation link.
    #[schema(example = "Sup3rSecret!", min_length = 8, max_length = 128)]
    pub password: Option<String>,
    #[serde(default)]
    pub no_welcome_email: bool,
    /// `HOST` (default), `COMPANY_ADMIN`, or `RESELLER_ADMIN` (admin company only).
    #[schema(value_type = Option<crate::api::schema::RoleName>)]
    pub role: Option<String>,
    /// The host's subject at the company's OpenID Connect provider, at most 255 characters
    /// without control characters.
    #[schema(max_length = 255, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub openid_sub: Option<String>,
    /// Stored with the host and shown back; not interpreted.
    #[serde(default)]
    pub subscription_ids: Vec<i64>,
    /// 6–12 digits, number or string; generated when omitted.
    #[serde(default, deserialize_with = "fields::code")]
    #[schema(schema_with = crate::api::schema::moderator_pin, example = "9876543")]
    pub moderator_pin: Option<String>,
    /// 4–12 digits, number or string, unique in the reseller; generated when omitted.
    #[serde(default, deserialize_with = "fields::code")]
    #[schema(schema_with = crate::api::schema::access_code, example = "1234567")]
    pub access_code: Option<String>,
}

/// A host as the API shows it. Secrets appear only in the answers that create them.
#[derive(Serialize, ToSchema)]
pub struct HostView {
    pub host_id: i64,
    pub company_id: i64,
    pub name: String,
    pub email: String,
    pub primary_dialin_number: Option<String>,
    pub meeting_url: String,
    /// The personal room's live stream player (hidden, receive-only viewers).
    pub livestream_url: String,
    pub role: String,
    pub openid_sub: Option<String>,
    pub access_code: NumberObject,
    pub moderator_pin: NumberObject,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_creation_link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_token_public_key: Option<String>,
    pub subscription_ids: Vec<i64>,
    pub has_password: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A single host answer.
#[derive(Serialize, ToSchema)]
pub struct HostResponse {
    #[serde(flatten)]
    pub host: HostView,
    pub message: String,
}

/// A page of hosts.
#[derive(Serialize, ToSchema)]
pub struct HostListResponse {
    pub hosts: Vec<HostView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub message: String,
}

/// Selects one host.
#[derive(Deserialize, ToSchema)]
pub struct HostIdRequest {
    #[schema(minimum = 1, example = 1)]
    pub host_id: i64,
}

/// Input of `host/list`.
#[derive(Deserialize, ToSchema)]
pub struct ListHostsRequest {
    /// Only this company's hosts (company admins always see only their own company).
    #[schema(minimum = 1, example = 1)]
    pub company_id: Option<i64>,
    /// 1–200, default 50.
    #[schema(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Default 0.
    #[schema(minimum = 0)]
    pub offset: Option<i64>,
}

/// Input of `host/update`: only the fields present change.
#[derive(Deserialize, ToSchema)]
pub struct UpdateHostRequest {
    #[schema(minimum = 1, example = 1)]
    pub host_id: i64,
    /// Display name: 1–200 characters, no control characters.
    #[schema(
        example = "John Host",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: Option<String>,
    /// Admins only; at most 64 characters before the `@`.
    #[schema(
        example = "john@company.tld",
        min_length = 3,
        max_length = 254,
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
    )]
    pub email: Option<String>,
    /// 8–128 characters; ends the host's other sessions.
    #[schema(example = "Sup3rSecret!", min_length = 8, max_length = 128)]
    pub password: Option<String>,
    /// Admins only; the last reseller admin keeps its role.
    #[schema(value_type = Option<crate::api::schema::RoleName>)]
    pub role: Option<String>,
    /// Admins only; at most 255 characters without control characters, `""` clears it.
    #[schema(max_length = 255, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub openid_sub: Option<String>,
    /// Admins only.
    pub subscription_ids: Option<Vec<i64>>,
    /// 6–12 digits, number or string.
    #[serde(default, deserialize_with = "fields::code")]
    #[schema(schema_with = crate::api::schema::moderator_pin, example = "9876543")]
    pub moderator_pin: Option<String>,
    /// Admins only; 4–12 digits, number or string, unique in the reseller.
    #[serde(default, deserialize_with = "fields::code")]
    #[schema(schema_with = crate::api::schema::access_code, example = "1234567")]
    pub access_code: Option<String>,
}

/// Answer of `host/reset_login_token`.
#[derive(Serialize, ToSchema)]
pub struct LoginTokenResponse {
    pub host_id: i64,
    pub login_token_public_key: String,
    pub message: String,
}

fn view(app: &App, host: Host, dialin: Option<String>) -> HostView {
    HostView {
        meeting_url: hosts::meeting_url(app, &host),
        livestream_url: hosts::livestream_url(app, &host),
        host_id: host.id,
        company_id: host.company_id,
        name: host.name,
        email: host.email,
        primary_dialin_number: dialin,
        role: host.role,
        openid_sub: host.openid_sub,
        access_code: NumberObject::new(&host.access_code),
        moderator_pin: NumberObject::new(&host.moderator_pin),
        password_creation_link: None,
        login_token_public_key: None,
        subscription_ids: serde_json::from_str(&host.subscription_ids).unwrap_or_default(),
        has_password: host.password_hash.is_some(),
        created_at: timestamp(host.created_at),
        updated_at: timestamp(host.updated_at),
    }
}

async fn dialin_of(app: &App, host: &Host) -> AppResult<Option<String>> {
    Ok(
        store::companies::get(&app.db, host.reseller_id, host.company_id)
            .await?
            .and_then(|c| c.primary_dialin_number),
    )
}

/// Loads a host the caller may see; anything else is 404.
async fn host_in_scope(app: &App, caller: &Caller, host_id: i64) -> AppResult<Host> {
    fields::id("host_id", host_id)?;
    let host = store::hosts::get(&app.db, caller.reseller_id, host_id).await?;
    host.filter(|h| caller.sees_host(h))
        .ok_or_else(|| AppError::not_found("Host"))
}

fn parse_role(value: &str) -> AppResult<Role> {
    Role::parse(value.trim()).ok_or_else(|| {
        AppError::invalid_field("role", "must be HOST, COMPANY_ADMIN or RESELLER_ADMIN")
    })
}

/// Whether `caller` may give `role` to a host of `company`.
fn check_role_grant(caller: &Caller, role: Role, company: &Company) -> AppResult<()> {
    if role == Role::ResellerAdmin && caller.role != Role::ResellerAdmin {
        return Err(AppError::forbidden(
            "Only a reseller admin may grant RESELLER_ADMIN",
        ));
    }
    if role == Role::ResellerAdmin && !company.is_admin_company {
        return Err(AppError::invalid_field(
            "role",
            "RESELLER_ADMIN hosts belong to the reseller's admin company",
        ));
    }
    Ok(())
}

fn openid_sub(value: Option<&str>) -> AppResult<Option<String>> {
    names::optional_text("openid_sub", value, 255)
}

/// Creates a host with its personal meeting room, and emails it a password creation link.
#[utoipa::path(post, path = "/enterprise_api/host/create", operation_id = "host_create", tag = "host",
    request_body = CreateHostRequest,
    responses((status = 200, body = HostResponse), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, description = "Unknown company", body = crate::error::ErrorBody),
        (status = 409, description = "Email or access code in use", body = crate::error::ErrorBody),
        (status = 503, description = "Password hashing is at capacity; see Retry-After", body = crate::error::ErrorBody)))]
pub async fn create(
    State(app): State<AppState>,
    request: Authed<CreateHostRequest>,
) -> AppResult<Json<HostResponse>> {
    let Authed { caller, body, .. } = request;
    caller.require(&[Role::ResellerAdmin, Role::CompanyAdmin], "host/create")?;
    let company_id = match (body.company_id, caller.role) {
        (Some(id), _) => id,
        (None, Role::CompanyAdmin) => caller.company_id,
        (None, _) => {
            return Err(AppError::bad_request(
                "missing_field",
                "company_id: is required",
            ));
        }
    };
    let company = company_in_scope(&app, &caller, company_id).await?;
    let role = body
        .role
        .as_deref()
        .map(parse_role)
        .transpose()?
        .unwrap_or(Role::Host);
    check_role_grant(&caller, role, &company)?;
    if let Some(pw) = &body.password {
        password::validate("password", pw)?;
    }
    let input = hosts::NewHostInput {
        company_id: company.id,
        name: names::display_name("name", &body.name)?,
        email: names::email("email", &body.email)?,
        password: body.password,
        send_welcome_email: !body.no_welcome_email,
        role,
        openid_sub: openid_sub(body.openid_sub.as_deref())?,
        subscription_ids: body.subscription_ids,
        moderator_pin: body
            .moderator_pin
            .map(|p| names::digits("moderator_pin", &p, PIN_DIGITS.0, PIN_DIGITS.1))
            .transpose()?,
        access_code: body
            .access_code
            .map(|c| names::digits("access_code", &c, CODE_DIGITS.0, CODE_DIGITS.1))
            .transpose()?,
    };
    let dialin = company.primary_dialin_number.clone();
    let created = hosts::create(&app, &company, input).await?;
    let mut host = view(&app, created.host, dialin);
    host.password_creation_link = Some(created.password_creation_link);
    host.login_token_public_key = Some(created.login_token);
    Ok(Json(HostResponse {
        host,
        message: "Host created".into(),
    }))
}

/// Shows one host.
#[utoipa::path(post, path = "/enterprise_api/host/get", operation_id = "host_get", tag = "host",
    request_body = HostIdRequest,
    responses((status = 200, body = HostResponse), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(app): State<AppState>,
    request: Authed<HostIdRequest>,
) -> AppResult<Json<HostResponse>> {
    let Authed { caller, body, .. } = request;
    let host = host_in_scope(&app, &caller, body.host_id).await?;
    let dialin = dialin_of(&app, &host).await?;
    Ok(Json(HostResponse {
        host: view(&app, host, dialin),
        message: "OK".into(),
    }))
}

/// Lists hosts in the caller's scope.
#[utoipa::path(post, path = "/enterprise_api/host/list", operation_id = "host_list", tag = "host",
    request_body = ListHostsRequest,
    responses((status = 200, body = HostListResponse), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn list(
    State(app): State<AppState>,
    request: Authed<ListHostsRequest>,
) -> AppResult<Json<HostListResponse>> {
    let Authed { caller, body, .. } = request;
    caller.require(&[Role::ResellerAdmin, Role::CompanyAdmin], "host/list")?;
    let page = Paging {
        limit: body.limit,
        offset: body.offset,
    }
    .page()?;
    let company = match (body.company_id, caller.role) {
        (Some(id), _) => Some(company_in_scope(&app, &caller, id).await?.id),
        (None, Role::ResellerAdmin) => None,
        (None, _) => Some(caller.company_id),
    };
    let hide_reseller_admins = caller.role != Role::ResellerAdmin;
    let found = store::hosts::list(
        &app.db,
        caller.reseller_id,
        company,
        hide_reseller_admins,
        page,
    )
    .await?;
    let mut hosts = Vec::with_capacity(found.items.len());
    for host in found.items {
        let dialin = dialin_of(&app, &host).await?;
        hosts.push(view(&app, host, dialin));
    }
    Ok(Json(HostListResponse {
        hosts,
        total: found.total,
        limit: page.limit,
        offset: page.offset,
        message: "OK".into(),
    }))
}

/// Changes a host. Hosts may change their own name, password and moderator PIN.
#[utoipa::path(post, path = "/enterprise_api/host/update", operation_id = "host_update", tag = "host",
    request_body = UpdateHostRequest,
    responses((status = 200, body = HostResponse), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 503, description = "Password hashing is at capacity; see Retry-After", body = crate::error::ErrorBody)))]
pub async fn update(
    State(app): State<AppState>,
    request: Authed<UpdateHostRequest>,
) -> AppResult<Json<HostResponse>> {
    let Authed { caller, body, .. } = request;
    let before = host_in_scope(&app, &caller, body.host_id).await?;
    if caller.role == Role::Host {
        let admin_only = [
            ("email", body.email.is_some()),
            ("role", body.role.is_some()),
            ("openid_sub", body.openid_sub.is_some()),
            ("subscription_ids", body.subscription_ids.is_some()),
            ("access_code", body.access_code.is_some()),
        ];
        if let Some((field, _)) = admin_only.iter().find(|(_, present)| *present) {
            return Err(AppError::forbidden(format!(
                "Role HOST may not change {field}"
            )));
        }
    }
    let mut after = before.clone();
    if let Some(name) = &body.name {
        after.name = names::display_name("name", name)?;
    }
    if let Some(email) = &body.email {
        after.email = names::email("email", email)?;
    }
    if let Some(role) = &body.role {
        let role = parse_role(role)?;
        let company = company_in_scope(&app, &caller, before.company_id).await?;
        check_role_grant(&caller, role, &company)?;
        after.role = role.as_str().to_string();
    }
    if let Some(sub) = &body.openid_sub {
        after.openid_sub = openid_sub(Some(sub))?;
    }
    if let Some(ids) = &body.subscription_ids {
        after.subscription_ids = serde_json::to_string(ids).map_err(AppError::internal)?;
    }
    if let Some(pin) = &body.moderator_pin {
        after.moderator_pin = names::digits("moderator_pin", pin, PIN_DIGITS.0, PIN_DIGITS.1)?;
    }
    if let Some(code) = &body.access_code {
        after.access_code = names::digits("access_code", code, CODE_DIGITS.0, CODE_DIGITS.1)?;
    }
    if let Some(pw) = &body.password {
        password::validate("password", pw)?;
    }
    let calling_session = match caller.credential {
        Credential::Session(id) if caller.host_id == before.id => Some(id),
        _ => None,
    };
    let saved = hosts::save(&app, &before, after, body.password, calling_session).await?;
    let dialin = dialin_of(&app, &saved).await?;
    let mut view = view(&app, saved, dialin);
    view.updated_at = timestamp(store::now());
    Ok(Json(HostResponse {
        host: view,
        message: "Host updated".into(),
    }))
}

/// Deletes a host with its credentials. Callers cannot delete themselves.
#[utoipa::path(post, path = "/enterprise_api/host/delete", operation_id = "host_delete", tag = "host",
    request_body = HostIdRequest,
    responses((status = 200, body = Deleted), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, description = "Deleting oneself", body = crate::error::ErrorBody)))]
pub async fn delete(
    State(app): State<AppState>,
    request: Authed<HostIdRequest>,
) -> AppResult<Json<Deleted>> {
    let Authed { caller, body, .. } = request;
    caller.require(&[Role::ResellerAdmin, Role::CompanyAdmin], "host/delete")?;
    let host = host_in_scope(&app, &caller, body.host_id).await?;
    if host.id == caller.host_id {
        return Err(AppError::conflict(
            "cannot_delete_self",
            "A host cannot delete itself",
        ));
    }
    hosts::delete(&app, &host).await?;
    Ok(Json(Deleted {
        id: host.id,
        deleted: true,
        message: "Host deleted".into(),
    }))
}

/// Issues a new `login_token_public_key` for `/auth` SSO; the previous one stops working.
#[utoipa::path(post, path = "/enterprise_api/host/reset_login_token", operation_id = "host_reset_login_token", tag = "host",
    request_body = HostIdRequest,
    responses((status = 200, body = LoginTokenResponse), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn reset_login_token(
    State(app): State<AppState>,
    request: Authed<HostIdRequest>,
) -> AppResult<Json<LoginTokenResponse>> {
    let Authed { caller, body, .. } = request;
    let host = host_in_scope(&app, &caller, body.host_id).await?;
    let token = hosts::reset_login_token(&app, &host).await?;
    Ok(Json(LoginTokenResponse {
        host_id: host.id,
        login_token_public_key: token,
        message: "Login token reset".into(),
    }))
}
