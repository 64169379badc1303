//! The OpenAPI description of the enterprise API, generated from the handlers' annotations.

use axum::Json;
use serde::Deserialize;
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::{
        ContentBuilder, Ref, RefOr, Required, ResponseBuilder, Schema,
        path::Operation,
        request_body::RequestBody,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use super::{
    api_token, company, conference, domain, host, openapi_links::Links, session, sso, theme,
};

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

/// The answers every operation can give because of the extractors in front of every handler, added
/// where a handler's own annotation does not already describe them; and bodies without required
/// fields marked optional.
struct CommonResponses;

impl CommonResponses {
    const MALFORMED: &str = "Malformed JSON, a missing or mistyped field, or a value the validators refuse; `message` names the field";
    const UNAUTHENTICATED: &str = "Missing auth_token, invalid token or expired session";
    const UNKNOWN_HOST: &str = "No tenant is served on the request's Host";
    const TOO_LARGE: &str = "Request body larger than 64 KiB (512 KiB for theme/update)";

    fn add(operation: &mut Operation, status: &str, description: &str) {
        let error = ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert(RefOr::T(error));
    }

    /// Whether the operation is marked `security(())`: callable without a token.
    fn is_public(operation: &Operation) -> bool {
        operation.security.as_ref().is_some_and(|requirements| {
            requirements
                .iter()
                .all(|r| serde_json::to_value(r).is_ok_and(|v| v == serde_json::json!({})))
        })
    }
}

/// Names of the component schemas without required properties.
fn schemas_without_required_fields(openapi: &utoipa::openapi::OpenApi) -> Vec<String> {
    let Some(components) = &openapi.components else {
        return Vec::new();
    };
    components
        .schemas
        .iter()
        .filter(|(_, schema)| match schema {
            RefOr::T(Schema::Object(object)) => object.required.is_empty(),
            _ => false,
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Whether a request body is a reference to one of `optional_schemas`.
fn refers_to_any(body: &RequestBody, optional_schemas: &[String]) -> bool {
    body.content.values().all(|content| match &content.schema {
        Some(RefOr::Ref(reference)) => optional_schemas
            .iter()
            .any(|name| reference.ref_location == format!("#/components/schemas/{name}")),
        _ => false,
    })
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let optional_schemas = schemas_without_required_fields(openapi);
        for item in openapi.paths.paths.values_mut() {
            let Some(operation) = item.post.as_mut() else {
                continue;
            };
            // The extractors read an empty body as `{}`: a body whose fields are all optional
            // may be left out.
            if let Some(body) = operation.request_body.as_mut()
                && refers_to_any(body, &optional_schemas)
            {
                body.required = Some(Required::False);
            }
            Self::add(operation, "400", Self::MALFORMED);
            if !Self::is_public(operation) {
                Self::add(operation, "401", Self::UNAUTHENTICATED);
            }
            Self::add(operation, "404", Self::UNKNOWN_HOST);
            Self::add(operation, "413", Self::TOO_LARGE);
        }
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
        domain::add, domain::list, domain::verify, domain::set_primary, domain::delete,
    ),
    modifiers(&TokenSchemes, &CommonResponses, &Links),
    components(schemas(crate::error::ErrorBody)),
    security(("bearer" = []), ("api_token" = []))
)]
pub struct ApiDoc;

/// The document as served: [`ApiDoc`] with its links' fields named as OpenAPI names them.
pub fn document() -> serde_json::Value {
    // Serializing a document built from static annotations cannot fail: every value is JSON.
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    super::openapi_links::camel_case_links(&mut doc);
    doc
}

/// `GET /enterprise_api/openapi.json`.
pub async fn openapi_json() -> Json<serde_json::Value> {
    Json(document())
}
