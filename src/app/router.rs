//! The whole HTTP surface: API, pages, signalling and the headers every answer carries.

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, header},
};
use tower_http::{set_header::SetResponseHeaderLayer, trace::TraceLayer};

use crate::{
    api::{self, extract::MAX_BODY_BYTES},
    signal::{self},
    web,
};

use super::AppState;

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    let metrics = state.metrics.clone();
    let router = Router::new()
        .nest("/enterprise_api", api::router())
        .merge(web::router())
        .merge(signal::router())
        .fallback(web::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::REFERRER_POLICY, "same-origin"))
        .layer(header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'self'",
        ))
        // Outside the default policy above, so it can adjust `frame-ancestors` per company.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::frame_policy::frame_ancestors,
        ))
        .layer(axum::middleware::from_fn(
            crate::tenancy::refuse_ambiguous_host,
        ))
        .layer(TraceLayer::new_for_http());
    // Outermost, so a request refused by any layer above is counted too; `Router::layer` runs
    // it after routing, where the matched route template is known.
    let router = match metrics {
        Some(metrics) => router.layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::http::record,
        )),
        None => router,
    };
    router.with_state(state)
}

/// 405 with the same JSON body as every other error.
async fn method_not_allowed(method: axum::http::Method) -> crate::error::AppError {
    crate::error::AppError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed here; the API takes POST"),
    )
}
