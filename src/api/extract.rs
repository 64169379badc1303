//! Request extractors of the enterprise API: JSON bodies with our own error answers, and the
//! authenticated caller from `auth_token` (body), `Authorization: Bearer` or `?api_token=`.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{
    app::AppState,
    auth::{Caller, caller},
    error::{AppError, AppResult},
    tenancy::Tenant,
};

/// Largest accepted API request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A route's own body limit, when it differs from [`MAX_BODY_BYTES`], so the 413 names the limit
/// that applied.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// An unauthenticated API request body.
pub struct ApiJson<T> {
    pub tenant: Tenant,
    pub body: T,
}

/// An authenticated API request: who calls, for which tenant, with what body.
pub struct Authed<T> {
    pub caller: Caller,
    pub tenant: Tenant,
    pub body: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let (mut parts, body) = req.into_parts();
        let tenant = Tenant::from_request_parts(&mut parts, state).await?;
        let mut object = read_object(Request::from_parts(parts, body), state).await?;
        object.remove("auth_token");
        Ok(ApiJson {
            tenant,
            body: deserialize(object)?,
        })
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for Authed<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let (mut parts, body) = req.into_parts();
        let tenant = Tenant::from_request_parts(&mut parts, state).await?;
        let header_token = bearer_token(&parts);
        let query_token = query_token(&parts);
        let mut object = read_object(Request::from_parts(parts, body), state).await?;
        let body_token = match object.remove("auth_token") {
            None | Some(Value::Null) => None,
            Some(Value::String(token)) => Some(token),
            Some(_) => return Err(AppError::invalid_field("auth_token", "must be a string")),
        };
        let token = body_token.or(header_token).or(query_token);
        let caller = caller::authenticate(&state.db, &tenant, token.as_deref()).await?;
        Ok(Authed {
            caller,
            tenant,
            body: deserialize(object)?,
        })
    }
}

fn bearer_token(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

fn query_token(parts: &Parts) -> Option<String> {
    let query = parts.uri.query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "api_token" || k == "auth_token")
        .map(|(_, v)| v.into_owned())
}

/// Reads the body as a JSON object; an empty body is `{}`.
async fn read_object(req: Request, state: &AppState) -> AppResult<Map<String, Value>> {
    let limit = req
        .extensions()
        .get::<BodyLimit>()
        .map_or(MAX_BODY_BYTES, |l| l.0);
    let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("Request body exceeds {} KiB", limit / 1024),
            )
        } else {
            AppError::bad_request("unreadable_body", rejection.body_text())
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(AppError::bad_request(
            "malformed_json",
            "Request body must be a JSON object",
        )),
        Err(err) => Err(AppError::bad_request(
            "malformed_json",
            format!("Request body is not valid JSON: {err}"),
        )),
    }
}

/// Largest integer a JSON float holds exactly (2^53): beyond it, `1e19` and an out-of-range
/// integer literal that was rounded to a float look alike, so they stay floats and are refused.
const EXACT_FLOAT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// Writes numbers with a zero fraction (`5.0`) as the integers they are: JSON Schema counts them
/// as integers, and no request field takes a fraction.
fn integral_floats_as_integers(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() <= EXACT_FLOAT_INTEGER
            {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// Deserializes the request fields; errors name the offending field.
pub fn deserialize<T: DeserializeOwned>(object: Map<String, Value>) -> AppResult<T> {
    let mut value = Value::Object(object);
    integral_floats_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        if let Some(field) = inner
            .strip_prefix("missing field `")
            .and_then(|s| s.strip_suffix('`'))
        {
            return AppError::bad_request("missing_field", format!("{field}: is required"));
        }
        if path == "." || path.is_empty() {
            AppError::bad_request("invalid_field", inner)
        } else {
            AppError::invalid_field(&path, inner)
        }
    })
}
