//! Where a browser says a request comes from (`Origin`, `Sec-Fetch-Site`), for the checks that
//! forms and sign-in make besides their tokens. Browsers always send `Origin` on a cross-origin
//! POST and `Sec-Fetch-Site` on every request; a request with neither is not a browser acting for
//! another site (a command-line client, a server), and the token checks still apply to it.

use axum::http::{HeaderMap, header};

use crate::{error::AppError, tenancy::normalize_hostname};

/// The request's `Origin`, canonical (`scheme://host[:port]`, default port dropped), when it
/// names a real origin; `Some("null")` for the opaque origin of sandboxed frames and `file:` pages.
pub fn origin(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(header::ORIGIN)?.to_str().ok()?.trim();
    if raw == "null" {
        return Some("null".into());
    }
    match url::Url::parse(raw) {
        Ok(url) if url.host_str().is_some() => Some(url.origin().ascii_serialization()),
        _ => Some("null".into()),
    }
}

/// Whether `origin` (canonical) is a page of `hostname`, on any scheme or port: behind a proxy
/// the server does not know the public ones for sure.
pub fn is_hostname(origin: &str, hostname: &str) -> bool {
    url::Url::parse(origin)
        .ok()
        .and_then(|u| u.host_str().and_then(normalize_hostname))
        .is_some_and(|host| host == hostname)
}

fn refused() -> AppError {
    AppError::forbidden(
        "The form was not sent from a page of this site; reload the page and try again",
    )
}

/// For forms: the request must come from a page of `hostname` itself. Refuses what the browser
/// says is cross-site or only same-site (a sibling subdomain is another tenant), and any `Origin`
/// of another host.
pub fn require_same_origin(headers: &HeaderMap, hostname: &str) -> Result<(), AppError> {
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    if matches!(fetch_site.as_deref(), Some("cross-site" | "same-site")) {
        return Err(refused());
    }
    match origin(headers) {
        None => Ok(()),
        Some(origin) if is_hostname(&origin, hostname) => Ok(()),
        Some(_) => Err(refused()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn forms_come_from_their_own_site() {
        let host = "joe.alpha.test";
        for ok in [
            headers(&[]),
            headers(&[("origin", "https://joe.alpha.test")]),
            headers(&[("origin", "http://JOE.alpha.test:8080")]),
            headers(&[("sec-fetch-site", "same-origin")]),
            headers(&[("sec-fetch-site", "none")]),
        ] {
            assert!(require_same_origin(&ok, host).is_ok(), "{ok:?}");
        }
        for refused in [
            headers(&[("origin", "https://evil.example")]),
            headers(&[("origin", "https://mallory.alpha.test")]),
            headers(&[("origin", "null")]),
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
        ] {
            assert!(require_same_origin(&refused, host).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn origins_are_canonical() {
        let h = headers(&[("origin", "https://App.Partner.tld:443")]);
        assert_eq!(origin(&h).as_deref(), Some("https://app.partner.tld"));
        let h = headers(&[("origin", "data:text/html,x")]);
        assert_eq!(origin(&h).as_deref(), Some("null"));
    }
}
