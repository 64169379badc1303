//! The password creation page a new host reaches from its welcome email: one use, expires.

use askama::Template;
use axum::{
    Form,
    extract::{Path, State, rejection::FormRejection},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde::Deserialize;

use super::{Brand, PageError, PageTenant, csrf, render};
use crate::{
    app::AppState,
    auth::{password, token},
    error::AppError,
    store::{self, credentials::PasswordLink},
    tenancy::{Tenant, hosts},
};

#[derive(Template)]
#[template(path = "password_create.html")]
struct PasswordForm<'a> {
    brand: &'a Brand,
    host_name: &'a str,
    email: &'a str,
    csrf_token: &'a str,
    error: Option<&'a str>,
    min_len: usize,
}

#[derive(Template)]
#[template(path = "password_done.html")]
struct PasswordDone<'a> {
    brand: &'a Brand,
    host_name: &'a str,
}

/// Fields of the password form.
#[derive(Deserialize)]
pub struct PasswordSubmission {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
    #[serde(default)]
    csrf: String,
}

/// A link that is valid for this tenant, with its host.
async fn valid_link(
    state: &AppState,
    tenant: &Tenant,
    secret: &str,
) -> Result<(PasswordLink, store::hosts::Host), PageError> {
    let brand = || Brand::of(tenant);
    let not_found = || PageError::new(AppError::not_found("Password link"), brand());
    let link = store::credentials::find_password_link(&state.db, &token::hash_secret(secret))
        .await
        .map_err(AppError::from)?
        .ok_or_else(not_found)?;
    let host = store::hosts::get(&state.db, tenant.reseller_id, link.host_id)
        .await
        .map_err(AppError::from)?
        .filter(|h| h.company_id == tenant.company_id)
        .ok_or_else(not_found)?;
    let gone = |message: &str| {
        PageError::new(
            AppError::new(StatusCode::GONE, "link_expired", message),
            brand(),
        )
    };
    if link.used_at.is_some() {
        return Err(gone(
            "This link has already been used. Ask your administrator for a new one.",
        ));
    }
    if link.expires_at <= store::now() {
        return Err(gone(
            "This link has expired. Ask your administrator for a new one.",
        ));
    }
    Ok((link, host))
}

fn form_page(
    brand: &Brand,
    host: &store::hosts::Host,
    csrf_token: &str,
    error: Option<&str>,
) -> Result<Html<String>, PageError> {
    render(&PasswordForm {
        brand,
        host_name: &host.name,
        email: &host.email,
        csrf_token,
        error,
        min_len: password::MIN_LEN,
    })
}

/// `GET /password/create/<token>`.
pub async fn show_form(
    State(state): State<AppState>,
    PageTenant(tenant): PageTenant,
    Path(secret): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (_, host) = valid_link(&state, &tenant, &secret).await?;
    let (csrf_token, cookie) = csrf::issue(&state, &tenant.hostname, &headers);
    let mut response = form_page(&Brand::of(&tenant), &host, &csrf_token, None)?.into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    no_store(&mut response);
    Ok(response)
}

/// `POST /password/create/<token>`.
pub async fn submit(
    State(state): State<AppState>,
    PageTenant(tenant): PageTenant,
    Path(secret): Path<String>,
    headers: HeaderMap,
    form: Result<Form<PasswordSubmission>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|r| super::rejected_body(r.status(), &r.body_text(), &tenant))?;
    let brand = Brand::of(&tenant);
    csrf::verify(&state, &tenant.hostname, &headers, &form.csrf)
        .map_err(|e| PageError::new(e, Brand::of(&tenant)))?;
    let (link, host) = valid_link(&state, &tenant, &secret).await?;
    let problem = if form.password != form.password_confirm {
        Some("The two passwords do not match.".to_string())
    } else {
        password::validate("password", &form.password)
            .err()
            .map(|e| format!("Password {}.", e.message.trim_start_matches("password: ")))
    };
    if let Some(problem) = problem {
        let mut response = form_page(&brand, &host, &form.csrf, Some(&problem))?.into_response();
        *response.status_mut() = StatusCode::BAD_REQUEST;
        no_store(&mut response);
        return Ok(response);
    }
    hosts::set_password_from_link(&state, link.id, host.id, form.password)
        .await
        .map_err(|e| PageError::new(e, Brand::of(&tenant)))?;
    Ok(render(&PasswordDone {
        brand: &brand,
        host_name: &host.name,
    })?
    .into_response())
}

fn no_store(response: &mut Response) {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
}
