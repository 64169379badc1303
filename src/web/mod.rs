//! Server-rendered pages (askama) on tenant domains.

pub mod acme_challenge;
pub mod csrf;
pub mod domain_token;
pub mod frame_policy;
pub mod livestream;
pub mod login;
pub mod meeting;
pub mod oidc;
pub mod password;
pub mod request_origin;
pub mod sso;
pub mod static_files;
pub mod theme_assets;
pub mod upcoming;

use std::sync::{Arc, LazyLock};

use askama::Template;
use axum::{
    Router,
    extract::{FromRequestParts, Request, State},
    http::{StatusCode, Uri, header, request::Parts},
    response::{Html, IntoResponse, Response},
    routing::get,
};

use crate::{
    app::AppState,
    error::AppError,
    tenancy::{Tenant, themes::Effective},
};

/// Brand shown on a page: the tenant's effective theme, or a neutral one when the tenant is unknown.
pub struct Brand {
    pub product: String,
    pub company: Option<String>,
    pub theme: Arc<Effective>,
    /// `?hideLogo=1`: embedders show their own logo around the frame.
    pub hide_logo: bool,
}

static NEUTRAL: LazyLock<Arc<Effective>> = LazyLock::new(|| Arc::new(Effective::neutral()));

impl Brand {
    /// The brand of a resolved tenant.
    pub fn of(tenant: &Tenant) -> Self {
        Self {
            product: tenant.theme.product_name.clone(),
            company: Some(tenant.company_name.clone()),
            theme: tenant.theme.clone(),
            hide_logo: tenant.hide_logo,
        }
    }

    /// The brand of pages on hostnames that belong to no tenant.
    pub fn neutral() -> Self {
        Self {
            product: NEUTRAL.product_name.clone(),
            company: None,
            theme: NEUTRAL.clone(),
            hide_logo: false,
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    brand: &'a Brand,
    title: &'a str,
    message: &'a str,
    status: u16,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    brand: &'a Brand,
}

/// An [`AppError`] rendered as a themed HTML page.
pub struct PageError {
    pub error: AppError,
    /// Boxed: the brand is large and errors travel through every page handler's `Result`.
    pub brand: Box<Brand>,
}

impl PageError {
    pub fn new(error: AppError, brand: Brand) -> Self {
        Self {
            error,
            brand: Box::new(brand),
        }
    }
}

/// A rejected page body (too large, unreadable) as the error page names it, instead of the plain
/// text the framework would answer.
pub fn rejected_body(status: StatusCode, detail: &str, tenant: &Tenant) -> PageError {
    let error = if status == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "The form is too large: at most {} KiB may be sent",
                crate::api::extract::MAX_BODY_BYTES / 1024
            ),
        )
    } else {
        AppError::bad_request(
            "unreadable_body",
            format!("The form could not be read: {detail}"),
        )
    };
    PageError::new(error, Brand::of(tenant))
}

/// The raw body of a form post, or the themed error page.
pub fn page_body(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
    tenant: &Tenant,
) -> Result<axum::body::Bytes, PageError> {
    body.map_err(|r| rejected_body(r.status(), &r.body_text(), tenant))
}

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        Self {
            error,
            brand: Box::new(Brand::neutral()),
        }
    }
}

fn title_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Something is not right",
        401 | 403 => "Not allowed",
        404 => "Page not found",
        410 => "Link no longer valid",
        429 => "Slow down",
        _ => "Something went wrong",
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            brand: &self.brand,
            title: title_for(self.error.status),
            message: &self.error.message,
            status: self.error.status.as_u16(),
        };
        match page.render() {
            Ok(html) => {
                let mut response = (self.error.status, Html(html)).into_response();
                if let Some(secs) = self.error.retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
                }
                response
            }
            Err(err) => AppError::internal(err).into_response(),
        }
    }
}

/// The tenant of a page request; an unknown domain gets the themed 404 page.
pub struct PageTenant(pub Tenant);

impl FromRequestParts<AppState> for PageTenant {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let mut tenant = Tenant::from_request_parts(parts, state)
            .await
            .map_err(PageError::from)?;
        tenant.hide_logo = hide_logo_asked(parts.uri.query());
        Ok(PageTenant(tenant))
    }
}

/// Whether the query string asks to hide the logo (`hideLogo=1` or `hideLogo=true`).
fn hide_logo_asked(query: Option<&str>) -> bool {
    query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .any(|(k, v)| k == "hideLogo" && matches!(v, "1" | "true"))
}

/// Renders a template or fails with a logged internal error.
pub fn render(template: &impl Template) -> Result<Html<String>, PageError> {
    template
        .render()
        .map(Html)
        .map_err(|e| AppError::internal(e).into())
}

async fn home(PageTenant(tenant): PageTenant) -> Result<Html<String>, PageError> {
    render(&HomePage {
        brand: &Brand::of(&tenant),
    })
}

/// Answers unknown paths: JSON under `/enterprise_api`, a themed page elsewhere.
pub async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let uri: &Uri = &parts.uri;
    let error = AppError::not_found("Page");
    if uri.path().starts_with("/enterprise_api") {
        return AppError::new(
            StatusCode::NOT_FOUND,
            "unknown_method",
            format!("No API method at {}", uri.path()),
        )
        .into_response();
    }
    let brand = match Tenant::resolve(&state, &parts).await {
        Ok(tenant) => Brand::of(&tenant),
        Err(_) => Brand::neutral(),
    };
    PageError::new(error, brand).into_response()
}

/// Page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/conf/call/{code}", get(meeting::show))
        .route("/livestream/{code}", get(livestream::show))
        .route(
            "/password/create/{token}",
            get(password::show_form).post(password::submit),
        )
        .route("/static/{file}", get(static_files::serve))
        .route("/theme/{file}", get(theme_assets::stylesheet))
        .route("/brand/{file}", get(theme_assets::image))
        .route("/auth", get(sso::auth_get).post(sso::auth_post))
        .route("/auth/oidc/start", get(oidc::start))
        .route("/auth/oidc/callback", get(oidc::callback))
        .route("/login", get(login::show_login).post(login::submit_login))
        .route(
            "/logout",
            get(login::show_logout).post(login::submit_logout),
        )
        .route(upcoming::PATH, get(upcoming::show))
        .route("/healthz", get(|| async { "ok" }))
        .route(domain_token::ROUTE, get(domain_token::serve))
        .route(acme_challenge::ROUTE, get(acme_challenge::serve))
}
