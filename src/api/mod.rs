//! The enterprise API: `POST /enterprise_api/<object>/<verb>`, JSON in and out.

pub mod api_token;
pub mod company;
pub mod conference;
pub mod domain;
pub mod extract;
pub mod fields;
pub mod host;
pub mod openapi;
pub mod openapi_links;
pub mod schema;
pub mod session;
pub mod sso;
pub mod theme;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};

use crate::app::AppState;

/// Routes under `/enterprise_api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/authenticate", post(session::authenticate))
        .route("/logout", post(session::logout))
        .route("/company/create", post(company::create))
        .route("/company/get", post(company::get))
        .route("/company/list", post(company::list))
        .route("/company/update", post(company::update))
        .route("/company/delete", post(company::delete))
        .route("/company/sso_secret/reset", post(sso::reset_sso_secret))
        .route("/company/openid/set", post(sso::set_openid))
        .route("/company/openid/get", post(sso::get_openid))
        .route("/company/openid/delete", post(sso::delete_openid))
        .route("/host/create", post(host::create))
        .route("/host/get", post(host::get))
        .route("/host/list", post(host::list))
        .route("/host/update", post(host::update))
        .route("/host/delete", post(host::delete))
        .route("/host/reset_login_token", post(host::reset_login_token))
        .route("/api_token/create", post(api_token::create))
        .route("/api_token/list", post(api_token::list))
        .route("/api_token/revoke", post(api_token::revoke))
        .route("/conference/create", post(conference::create))
        .route("/conference/get", post(conference::get))
        .route("/conference/list", post(conference::list))
        .route("/conference/update", post(conference::update))
        .route("/conference/delete", post(conference::delete))
        .route("/theme/get", post(theme::get))
        .route(
            "/theme/update",
            // Logos are uploaded inline as base64: this one method takes larger bodies.
            post(theme::update).layer((
                DefaultBodyLimit::max(theme::MAX_THEME_BODY_BYTES),
                axum::Extension(extract::BodyLimit(theme::MAX_THEME_BODY_BYTES)),
            )),
        )
        .route("/domain/add", post(domain::add))
        .route("/domain/list", post(domain::list))
        .route("/domain/verify", post(domain::verify))
        .route("/domain/set_primary", post(domain::set_primary))
        .route("/domain/delete", post(domain::delete))
        .route("/openapi.json", get(openapi::openapi_json))
}
