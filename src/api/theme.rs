//! `theme/get` and `theme/update`: a reseller's brand, or one company's overrides of it.

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{company::company_in_scope, extract::Authed};
use crate::{
    app::{App, AppState},
    auth::{Caller, Role},
    error::{AppError, AppResult},
    store::{
        self,
        themes::{Layer, RESELLER_LAYER},
    },
    tenancy::themes::{
        Effective,
        input::{self, Patch},
        sender::SenderDomains,
    },
};

/// Largest `theme/update` body: a 256 KiB logo and a 64 KiB favicon in base64, plus the rest.
pub const MAX_THEME_BODY_BYTES: usize = 512 * 1024;

/// Input of `theme/get`.
#[derive(Deserialize, ToSchema)]
pub struct ThemeGetRequest {
    /// The company whose overrides to show; absent: the reseller's brand (reseller admins only).
    #[schema(minimum = 1, example = 1)]
    pub company_id: Option<i64>,
}

/// Input of `theme/update`: absent fields stay, `""` clears a field (it inherits again).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThemeUpdateRequest {
    /// The company to override; absent: the reseller's brand (reseller admins only).
    #[schema(minimum = 1, example = 1)]
    pub company_id: Option<i64>,
    /// At most 200 characters, no control characters.
    #[schema(
        example = "Acme Meet",
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub product_name: Option<String>,
    /// Base64 PNG, JPEG or WebP (a `data:` URL is fine), at most 256 KiB decoded. SVG is refused.
    #[schema(
        example = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )]
    pub logo: Option<String>,
    /// Base64 PNG, JPEG or WebP, at most 64 KiB decoded.
    #[schema(
        example = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )]
    pub favicon: Option<String>,
    /// `#rgb` or `#rrggbb`.
    #[schema(
        example = "#e11d48",
        pattern = r"^(#([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6}))?$"
    )]
    pub primary_color: Option<String>,
    /// `#rgb` or `#rrggbb`.
    #[schema(
        example = "#f59e0b",
        pattern = r"^(#([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6}))?$"
    )]
    pub accent_color: Option<String>,
    /// `#rgb` or `#rrggbb`.
    #[schema(
        example = "#ffffff",
        pattern = r"^(#([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6}))?$"
    )]
    pub background_color: Option<String>,
    /// `#rgb` or `#rrggbb`.
    #[schema(
        example = "#111827",
        pattern = r"^(#([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6}))?$"
    )]
    pub text_color: Option<String>,
    /// Built-in theme: `light` or `dark`.
    #[schema(example = "dark", value_type = Option<crate::api::schema::BaseTheme>)]
    pub theme: Option<String>,
    /// Display name of the emails' sender, at most 200 characters.
    #[schema(
        example = "Acme Meet",
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub sender_name: Option<String>,
    /// Address the emails come from (at most 64 characters before the `@`): its domain must be
    /// the reseller's (or company's) domain or one allowed for this layer, else 400.
    #[schema(
        example = "meet@localhost",
        max_length = 254,
        pattern = r"^([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)?$"
    )]
    pub sender_email: Option<String>,
    /// http(s) link shown in page footers and emails, at most 2048 characters.
    #[schema(
        example = "https://help.acme.tld",
        max_length = 2048,
        pattern = r"^([Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+\S*)?$"
    )]
    pub support_url: Option<String>,
}

/// The stored fields of one layer; `null` inherits.
#[derive(Serialize, ToSchema)]
pub struct ThemeFields {
    pub product_name: Option<String>,
    /// Path of the uploaded logo on the tenant's domain.
    pub logo_url: Option<String>,
    pub favicon_url: Option<String>,
    pub primary_color: Option<String>,
    pub accent_color: Option<String>,
    pub background_color: Option<String>,
    pub text_color: Option<String>,
    pub theme: Option<String>,
    pub sender_name: Option<String>,
    pub sender_email: Option<String>,
    pub support_url: Option<String>,
}

/// The merged theme the company's (or the admin company's) pages and emails use.
#[derive(Serialize, ToSchema)]
pub struct EffectiveTheme {
    pub product_name: String,
    pub logo_url: String,
    pub favicon_url: String,
    pub primary_color: String,
    pub accent_color: String,
    pub background_color: String,
    pub text_color: String,
    pub theme: String,
    pub sender_name: String,
    pub sender_email: Option<String>,
    pub support_url: Option<String>,
    /// The themed stylesheet; its name changes whenever the theme does.
    pub css_url: String,
}

/// Answer of `theme/get` and `theme/update`.
#[derive(Serialize, ToSchema)]
pub struct ThemeResponse {
    /// `null` for the reseller's brand.
    pub company_id: Option<i64>,
    /// What this layer sets.
    pub stored: ThemeFields,
    /// What the pages show after merging company → reseller → built-in default.
    pub effective: EffectiveTheme,
    pub message: String,
}

fn fields(l: Layer) -> ThemeFields {
    ThemeFields {
        product_name: l.product_name,
        logo_url: l.logo.map(|n| format!("/brand/{n}")),
        favicon_url: l.favicon.map(|n| format!("/brand/{n}")),
        primary_color: l.primary_color,
        accent_color: l.accent_color,
        background_color: l.background_color,
        text_color: l.text_color,
        theme: l.base_theme,
        sender_name: l.sender_name,
        sender_email: l.sender_email,
        support_url: l.support_url,
    }
}

fn effective_view(e: &Effective) -> EffectiveTheme {
    EffectiveTheme {
        product_name: e.product_name.clone(),
        logo_url: e.logo_path(),
        favicon_url: e.favicon_path(),
        primary_color: e.primary_color.clone(),
        accent_color: e.accent_color.clone(),
        background_color: e.background_color.clone(),
        text_color: e.text_color.clone(),
        theme: e.builtin.name.clone(),
        sender_name: e.sender_name.clone(),
        sender_email: e.sender_email.clone(),
        support_url: e.support_url.clone(),
        css_url: e.css_path(),
    }
}

/// Which layer a call acts on: `(company_id for storage, company whose effective theme to show)`.
async fn target(
    app: &App,
    caller: &Caller,
    company_id: Option<i64>,
    method: &str,
) -> AppResult<(i64, i64)> {
    caller.require(&[Role::ResellerAdmin, Role::CompanyAdmin], method)?;
    match company_id {
        Some(id) => {
            let company = company_in_scope(app, caller, id).await?;
            Ok((company.id, company.id))
        }
        None if caller.role == Role::ResellerAdmin => Ok((RESELLER_LAYER, caller.company_id)),
        None => Err(AppError::forbidden(format!(
            "Only a reseller admin may call {method} for the reseller; give your company_id"
        ))),
    }
}

async fn answer(
    app: &App,
    reseller_id: i64,
    reseller_name: &str,
    layer_id: i64,
    shown_company: i64,
    message: &str,
) -> AppResult<Json<ThemeResponse>> {
    let (reseller, company) = store::themes::layers(&app.db, reseller_id, shown_company).await?;
    let stored = if layer_id == RESELLER_LAYER {
        reseller.clone()
    } else {
        company.clone()
    };
    let effective = if layer_id == RESELLER_LAYER {
        // The reseller's brand as its companies inherit it, without the admin company's overrides.
        Effective::merge(reseller_name, reseller.as_ref(), None)
    } else {
        Effective::merge(reseller_name, reseller.as_ref(), company.as_ref())
    };
    Ok(Json(ThemeResponse {
        company_id: (layer_id != RESELLER_LAYER).then_some(layer_id),
        stored: fields(stored.unwrap_or_default()),
        effective: effective_view(&effective),
        message: message.into(),
    }))
}

/// Shows the reseller's brand or a company's overrides, with the effective result.
#[utoipa::path(post, path = "/enterprise_api/theme/get", operation_id = "theme_get", tag = "theme",
    request_body = ThemeGetRequest,
    responses((status = 200, body = ThemeResponse), (status = 400, description = "A missing or invalid field", body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(app): State<AppState>,
    request: Authed<ThemeGetRequest>,
) -> AppResult<Json<ThemeResponse>> {
    let Authed {
        caller,
        tenant,
        body,
    } = request;
    let (layer, shown) = target(&app, &caller, body.company_id, "theme/get").await?;
    answer(
        &app,
        caller.reseller_id,
        &tenant.reseller_name,
        layer,
        shown,
        "OK",
    )
    .await
}

/// Changes the reseller's brand or a company's overrides; every field is checked before anything
/// is written.
#[utoipa::path(post, path = "/enterprise_api/theme/update", operation_id = "theme_update", tag = "theme",
    request_body = ThemeUpdateRequest,
    responses((status = 200, body = ThemeResponse), (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn update(
    State(app): State<AppState>,
    request: Authed<ThemeUpdateRequest>,
) -> AppResult<Json<ThemeResponse>> {
    let Authed {
        caller,
        tenant,
        body,
    } = request;
    let (layer_id, shown) = target(&app, &caller, body.company_id, "theme/update").await?;
    let patch = Patch {
        product_name: body.product_name.as_deref(),
        logo: body.logo.as_deref(),
        favicon: body.favicon.as_deref(),
        primary_color: body.primary_color.as_deref(),
        accent_color: body.accent_color.as_deref(),
        background_color: body.background_color.as_deref(),
        text_color: body.text_color.as_deref(),
        theme: body.theme.as_deref(),
        sender_name: body.sender_name.as_deref(),
        sender_email: body.sender_email.as_deref(),
        support_url: body.support_url.as_deref(),
    };
    let company = (layer_id != RESELLER_LAYER).then_some(layer_id);
    let senders = SenderDomains::for_layer(&app, &tenant.reseller_domain, company).await?;
    let mut tx = app.db.begin_write().await?;
    let before = current_layer(&mut tx, caller.reseller_id, layer_id).await?;
    let (after, images) = input::apply(&before, &patch, &senders)?;
    for image in &images {
        store::themes::put_image(
            &mut tx,
            caller.reseller_id,
            &image.name,
            image.mime,
            &image.base64,
        )
        .await?;
    }
    store::themes::save(&mut tx, caller.reseller_id, layer_id, &after).await?;
    tx.commit().await?;
    answer(
        &app,
        caller.reseller_id,
        &tenant.reseller_name,
        layer_id,
        shown,
        "Theme updated",
    )
    .await
}

async fn current_layer(
    conn: &mut sqlx::AnyConnection,
    reseller_id: i64,
    layer_id: i64,
) -> AppResult<Layer> {
    Ok(store::themes::layer(conn, reseller_id, layer_id)
        .await?
        .unwrap_or_default())
}
