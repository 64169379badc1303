//! The OpenAPI description of the enterprise API, generated from the handlers' annotations.

use axum::Json;
use serde::Deserialize;
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{api_token, company, conference, host, session, sso, theme};

/// A body with only the session token (methods without other input).
#[derive(Deserialize, ToSchema)]
pub struct AuthOnly {
    /// The token from `authenticate` (or use a bearer header / `?api_token=`).
    pub auth_token: Option<String>,
}

struct TokenSchemes;

impl Modify for TokenSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "api_token",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("api_token"))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Enterprise API",
        description = "Provision companies and hosts. Every method is `POST /enterprise_api/<object>/<verb>` with a JSON body; \
            authenticated methods take `auth_token` in the body, an `Authorization: Bearer` header, or `?api_token=`. \
            Every answer has `message`; errors also have a stable `error` code."
    ),
    paths(
        session::authenticate, session::logout,
        company::create, company::get, company::list, company::update, company::delete,
        host::create, host::get, host::list, host::update, host::delete, host::reset_login_token,
        api_token::create, api_token::list, api_token::revoke,
        sso::reset_sso_secret, sso::set_openid, sso::get_openid, sso::delete_openid,
        conference::create, conference::get, conference::list, conference::update, conference::delete,
        theme::get, theme::update,
    ),
    modifiers(&TokenSchemes),
    security(("bearer" = []), ("api_token" = []))
)]
pub struct ApiDoc;

/// `GET /enterprise_api/openapi.json`.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
