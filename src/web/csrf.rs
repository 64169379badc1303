//! CSRF protection for forms. A random value in an HttpOnly cookie, and in the form a token that
//! is an HMAC of that value and the hostname under the server's form key: an attacker who can
//! plant a cookie (from a sibling subdomain, say) still cannot make the matching token, and a
//! token of one tenant's domain is worthless on another. Every check also requires the request to
//! come from a page of the same host ([`request_origin`](super::request_origin)).

use axum::http::{HeaderMap, HeaderValue, header};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::request_origin;
use crate::{app::App, auth::token, error::AppError, store};

const COOKIE: &str = "mtg_csrf";
/// Name of the form key in `server_keys`.
const KEY_NAME: &str = "form_tokens";

/// The server's key for form tokens, the same in every process on the database.
#[derive(Clone)]
pub struct FormKey(Vec<u8>);

impl FormKey {
    /// Reads the key from the database, making it at the first start.
    pub async fn load(db: &store::Db) -> sqlx::Result<Self> {
        let secret =
            store::server_keys::get_or_create(db, KEY_NAME, &token::random_secret()).await?;
        Ok(Self(secret.into_bytes()))
    }

    fn mac(&self, hostname: &str, cookie: &str) -> Hmac<Sha256> {
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(b"form\0");
        mac.update(hostname.as_bytes());
        mac.update(b"\0");
        mac.update(cookie.as_bytes());
        mac
    }

    fn token(&self, hostname: &str, cookie: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(hostname, cookie).finalize().into_bytes())
    }

    fn matches(&self, hostname: &str, cookie: &str, submitted: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(submitted.trim()) else {
            return false;
        };
        // `verify_slice` compares in constant time.
        self.mac(hostname, cookie).verify_slice(&tag).is_ok()
    }
}

impl std::fmt::Debug for FormKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FormKey(***)")
    }
}

/// The token to embed in a form on `hostname`, and the `Set-Cookie` value when a new cookie was
/// made.
pub fn issue(app: &App, hostname: &str, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    if let Some(existing) = cookie_value(headers) {
        return (app.form_key.token(hostname, &existing), None);
    }
    let fresh = token::random_secret();
    // Over https the cookie must also reach forms inside a cross-site iframe (embedded sign-in);
    // other sites can neither read it nor make a token for it.
    let same_site = if app.config.public_scheme == "https" {
        "SameSite=None; Secure; Partitioned"
    } else {
        "SameSite=Lax"
    };
    let cookie = format!("{COOKIE}={fresh}; Path=/; HttpOnly; {same_site}");
    (
        app.form_key.token(hostname, &fresh),
        HeaderValue::from_str(&cookie).ok(),
    )
}

/// Checks a submitted form: sent from a page of `hostname`, with the token made for this
/// browser's cookie on this host.
pub fn verify(
    app: &App,
    hostname: &str,
    headers: &HeaderMap,
    submitted: &str,
) -> Result<(), AppError> {
    request_origin::require_same_origin(headers, hostname)?;
    let ok = cookie_value(headers)
        .is_some_and(|cookie| app.form_key.matches(hostname, &cookie, submitted));
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
    fn tokens_are_bound_to_the_cookie_the_host_and_the_key() {
        let key = FormKey(b"server form key".to_vec());
        let cookie = token::random_secret();
        let token = key.token("joe.alpha.test", &cookie);
        assert!(key.matches("joe.alpha.test", &cookie, &token));
        // A planted cookie with a token of the attacker's choosing.
        assert!(!key.matches("joe.alpha.test", &cookie, &cookie));
        assert!(!key.matches("joe.alpha.test", &token::random_secret(), &token));
        assert!(!key.matches("ann.alpha.test", &cookie, &token));
        assert!(!FormKey(b"another key".to_vec()).matches("joe.alpha.test", &cookie, &token));
        assert!(!key.matches("joe.alpha.test", &cookie, "not base64 !"));
    }
}
