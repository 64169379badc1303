//! The themed stylesheet (`/theme/<hash>.css`) and brand images (`/brand/<name>`), served from the
//! tenant's own domain so pages need no third-party origin.

use axum::{
    extract::{Path, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};

use super::PageTenant;
use crate::{app::AppState, error::AppError, store, tenancy::themes::builtin};

/// Content-addressed answers never change: browsers may keep them for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// An old hash asked after a theme change gets today's CSS, which must not be cached under it.
const REVALIDATE: &str = "no-cache";

fn with_headers(body: impl IntoResponse, mime: &str, cache: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// `GET /theme/<hash>.css`: the tenant's current stylesheet.
pub async fn stylesheet(PageTenant(tenant): PageTenant, Path(file): Path<String>) -> Response {
    let Some(hash) = file.strip_suffix(".css") else {
        return AppError::not_found("File").into_response();
    };
    let cache = if hash == tenant.theme.css_hash {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    with_headers(tenant.theme.css.clone(), "text/css; charset=utf-8", cache)
}

/// `GET /brand/<name>`: an uploaded logo or favicon of this tenant's reseller, or a built-in mark.
pub async fn image(
    State(state): State<AppState>,
    PageTenant(tenant): PageTenant,
    Path(file): Path<String>,
) -> Response {
    if let Some(name) = file
        .strip_prefix("builtin-")
        .and_then(|f| f.strip_suffix(".svg"))
    {
        return match builtin::find(name) {
            // Our own SVG; the sandbox policy keeps even a direct visit script-free.
            Some(theme) => {
                let mut response =
                    with_headers(theme.logo.clone(), "image/svg+xml", "public, max-age=86400");
                response.headers_mut().insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(
                        "default-src 'none'; style-src 'unsafe-inline'; sandbox",
                    ),
                );
                response
            }
            None => AppError::not_found("File").into_response(),
        };
    }
    match store::themes::image(&state.db, tenant.reseller_id, &file).await {
        Ok(Some((mime, data))) => match STANDARD.decode(data) {
            Ok(bytes) => with_headers(bytes, &mime, IMMUTABLE),
            Err(err) => AppError::internal(err).into_response(),
        },
        Ok(None) => AppError::not_found("File").into_response(),
        Err(err) => AppError::from(err).into_response(),
    }
}
