//! Short-lived signed login tokens: HS256 JWTs a reseller's server signs with its company's SSO
//! secret, so no long-lived key has to reach a browser. Claims: `sub` (host id), `iat`, `exp`
//! (at most five minutes after `iat`) and `jti` (spent on first use).

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{AppError, AppResult};

/// Longest lifetime (`exp` − `iat`) a login token may have.
pub const MAX_LIFETIME_SECS: i64 = 300;
/// Tolerated difference between the reseller's clock and ours.
pub const CLOCK_SKEW_SECS: i64 = 30;
/// Longest accepted token, and `jti`.
const MAX_TOKEN_LEN: usize = 4096;
const MAX_JTI_LEN: usize = 200;

/// What a valid login token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginClaims {
    pub host_id: i64,
    pub jti: String,
    pub expires_at: i64,
}

#[derive(Deserialize)]
struct RawClaims {
    sub: Value,
    exp: i64,
    iat: Option<i64>,
    jti: Option<String>,
}

fn refused(message: &str) -> AppError {
    AppError::unauthorized("invalid_login_token", message)
}

/// Checks a token's signature, lifetime and claims at time `now` (Unix seconds). Spending the
/// `jti` is the caller's job, since it needs the database.
pub fn verify(secret: &str, token: &str, now: i64) -> AppResult<LoginClaims> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(refused("The login token is too long"));
    }
    let mut validation = Validation::new(Algorithm::HS256);
    // Expiry is checked below against our own clock and skew, with a clear message.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let decoded = jsonwebtoken::decode::<RawClaims>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map_err(|err| match err.kind() {
        ErrorKind::InvalidSignature => refused("The login token's signature is not valid"),
        ErrorKind::InvalidAlgorithm => refused("The login token must be signed with HS256"),
        ErrorKind::MissingRequiredClaim(claim) => {
            refused(&format!("The login token has no `{claim}` claim"))
        }
        _ => refused("The login token is malformed"),
    })?;
    let claims = decoded.claims;
    let iat = claims
        .iat
        .ok_or_else(|| refused("The login token has no `iat` claim"))?;
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
        .ok_or_else(|| refused("The login token needs a `jti` claim of 1 to 200 characters"))?;
    if claims.exp <= now - CLOCK_SKEW_SECS {
        return Err(refused("The login token has expired"));
    }
    if iat > now + CLOCK_SKEW_SECS {
        return Err(refused("The login token was issued in the future"));
    }
    if claims.exp - iat > MAX_LIFETIME_SECS
        || claims.exp > now + MAX_LIFETIME_SECS + CLOCK_SKEW_SECS
    {
        return Err(refused(
            "The login token may be valid for at most 5 minutes",
        ));
    }
    let host_id = match &claims.sub {
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
    .filter(|id| *id > 0)
    .ok_or_else(|| refused("The login token's `sub` must be a host id"))?;
    Ok(LoginClaims {
        host_id,
        jti,
        expires_at: claims.exp,
    })
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn sign(secret: &str, claims: Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn accepts_a_fresh_token() {
        let token = sign(
            "s3cret",
            json!({"sub": "42", "iat": NOW, "exp": NOW + 60, "jti": "abc"}),
        );
        assert_eq!(
            verify("s3cret", &token, NOW).unwrap(),
            LoginClaims {
                host_id: 42,
                jti: "abc".into(),
                expires_at: NOW + 60
            }
        );
        let numeric = sign(
            "s3cret",
            json!({"sub": 42, "iat": NOW, "exp": NOW + 60, "jti": "abc"}),
        );
        assert_eq!(verify("s3cret", &numeric, NOW).unwrap().host_id, 42);
    }

    #[test]
    fn refuses_bad_tokens_with_a_reason() {
        let reason = |secret: &str, claims: Value| {
            verify(secret, &sign("s3cret", claims), NOW)
                .unwrap_err()
                .message
        };
        let ok = json!({"sub": "42", "iat": NOW, "exp": NOW + 60, "jti": "abc"});
        assert!(reason("other", ok.clone()).contains("signature"));
        let mut expired = ok.clone();
        expired["iat"] = json!(NOW - 400);
        expired["exp"] = json!(NOW - 100);
        assert!(reason("s3cret", expired).contains("expired"));
        let mut long = ok.clone();
        long["exp"] = json!(NOW + 3600);
        assert!(reason("s3cret", long).contains("5 minutes"));
        let mut no_jti = ok.clone();
        no_jti.as_object_mut().unwrap().remove("jti");
        assert!(reason("s3cret", no_jti).contains("jti"));
        let mut bad_sub = ok;
        bad_sub["sub"] = json!("admin");
        assert!(reason("s3cret", bad_sub).contains("sub"));
        assert!(verify("s3cret", "not.a.jwt", NOW).is_err());
        // `alg: none` is never accepted.
        let unsigned = format!(
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                br#"{"sub":"42","iat":1800000000,"exp":1800000060,"jti":"x"}"#
            )
        );
        assert!(verify("s3cret", &unsigned, NOW).is_err());
    }
}
