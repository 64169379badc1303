//! CSRF protection for forms: a random token in an HttpOnly cookie that every form must echo in a
//! hidden field (double submit), compared in constant time.

use axum::http::{HeaderMap, HeaderValue, header};
use subtle::ConstantTimeEq;

use crate::{auth::token, error::AppError};

const COOKIE: &str = "mtg_csrf";

/// The token to embed in a form, and the `Set-Cookie` value when a new one was made.
pub fn issue(headers: &HeaderMap, secure: bool) -> (String, Option<HeaderValue>) {
    if let Some(existing) = cookie_value(headers) {
        return (existing, None);
    }
    let fresh = token::random_secret();
    // Over https the cookie must also reach forms inside a cross-site iframe (embedded sign-in);
    // double submit stays safe because other sites can neither read nor set it.
    let same_site = if secure {
        "SameSite=None; Secure; Partitioned"
    } else {
        "SameSite=Lax"
    };
    let cookie = format!("{COOKIE}={fresh}; Path=/; HttpOnly; {same_site}");
    (fresh, HeaderValue::from_str(&cookie).ok())
}

/// Checks a submitted form token against the cookie.
pub fn verify(headers: &HeaderMap, submitted: &str) -> Result<(), AppError> {
    let expected = cookie_value(headers).unwrap_or_default();
    let ok = !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()));
    if ok {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "The form expired or was not sent from this site; reload the page and try again",
        ))
    }
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && value.len() == 43)
        .map(|(_, value)| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_mismatch() {
        let (token, cookie) = issue(&HeaderMap::new(), false);
        let cookie = cookie.unwrap();
        let pair = cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        assert!(verify(&headers, &token).is_ok());
        assert!(verify(&headers, "forged").is_err());
        assert!(verify(&HeaderMap::new(), &token).is_err());
        assert_eq!(issue(&headers, false).0, token);
    }
}
