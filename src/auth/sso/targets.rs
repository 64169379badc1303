//! Where sign-in may send a browser: same-domain paths only (no open redirect), absolute
//! http(s) URLs for the end of a meeting, and the origins allowed to frame a company's pages.

use crate::error::{AppError, AppResult};

/// The page a host lands on after signing in when no `redirect_url` is given.
pub const DEFAULT_LANDING: &str = "/conf/calls/upcoming";

const MAX_URL_LEN: usize = 2048;

/// Most origins one company may allow to embed it.
pub const MAX_EMBED_ORIGINS: usize = 20;

/// A path on the current domain: starts with one `/`, never `//` or `\`, no scheme, no control
/// characters or spaces (browsers drop tabs and newlines, which could turn `/\t/x` into `//x`).
pub fn same_domain_path(field: &str, value: &str) -> AppResult<String> {
    let value = value.trim();
    let refuse = |why: &str| AppError::invalid_field(field, why);
    if value.len() > MAX_URL_LEN {
        return Err(refuse("is too long"));
    }
    if !value.starts_with('/') {
        return Err(refuse(
            "must be a path on this domain starting with `/` (absolute URLs are not accepted)",
        ));
    }
    if value.starts_with("//") {
        return Err(refuse(
            "must be a path on this domain, not a protocol-relative URL",
        ));
    }
    if value.contains('\\') {
        return Err(refuse("may not contain a backslash"));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(refuse("may not contain spaces or control characters"));
    }
    // It becomes a `Location` header, which carries only visible ASCII.
    if !value.is_ascii() {
        return Err(refuse(
            "must be URL-encoded: percent-encode characters outside ASCII",
        ));
    }
    Ok(value.to_string())
}

/// An absolute `http` or `https` URL with a host (where a host goes when its meeting ends).
pub fn absolute_web_url(field: &str, value: &str) -> AppResult<String> {
    let value = value.trim();
    if value.len() > MAX_URL_LEN {
        return Err(AppError::invalid_field(field, "is too long"));
    }
    let parsed = url::Url::parse(value)
        .map_err(|_| AppError::invalid_field(field, "must be an absolute http(s) URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(AppError::invalid_field(
            field,
            "must be an absolute http(s) URL",
        ));
    }
    Ok(parsed.to_string())
}

/// An origin allowed to frame pages: `scheme://host[:port]`, http or https, nothing else.
/// Returned in canonical form (lowercase host, default port dropped), safe to put in a CSP header.
pub fn embed_origin(field: &str, value: &str) -> AppResult<String> {
    let value = value.trim();
    let bad = |why: &str| AppError::invalid_field(field, format!("`{value}` {why}"));
    let parsed =
        url::Url::parse(value).map_err(|_| bad("is not an origin like https://app.example.com"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("must use http or https"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("may not contain credentials"));
    }
    if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() || parsed.fragment().is_some()
    {
        return Err(bad("may not have a path, query or fragment"));
    }
    let origin = parsed.origin().ascii_serialization();
    // The origin goes into a response header: anything beyond these could add CSP directives.
    let header_safe = origin
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-.:/[]".contains(&b));
    if !header_safe {
        return Err(bad("is not a valid origin"));
    }
    Ok(origin)
}

/// Validates a list of embed origins, dropping duplicates.
pub fn embed_origins(values: &[String]) -> AppResult<Vec<String>> {
    if values.len() > MAX_EMBED_ORIGINS {
        return Err(AppError::invalid_field(
            "embed_origins",
            format!("at most {MAX_EMBED_ORIGINS} origins"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        let origin = embed_origin(&format!("embed_origins[{i}]"), value)?;
        if !out.contains(&origin) {
            out.push(origin);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_domain_paths_pass() {
        for good in [
            "/",
            "/conf/call/1234567",
            "/conf/calls/upcoming?x=1#top",
            "/a//b",
        ] {
            assert_eq!(same_domain_path("redirect_url", good).unwrap(), good);
        }
        for bad in [
            "https://evil.tld/",
            "//evil.tld",
            "/\\evil.tld",
            "\\\\evil.tld",
            "javascript:alert(1)",
            "evil.tld",
            "/\t/evil.tld",
            "/%0a",
            "/café",
            "",
        ] {
            let result = same_domain_path("redirect_url", bad);
            if bad == "/%0a" {
                assert!(result.is_ok(), "percent-encoding stays in the path");
            } else {
                let err = result.unwrap_err();
                assert!(err.message.starts_with("redirect_url:"), "{bad}: {err}");
            }
        }
    }

    #[test]
    fn after_call_urls_are_absolute_web_urls() {
        assert!(absolute_web_url("after_call_url", "https://example.org/done").is_ok());
        for bad in [
            "/relative",
            "javascript:alert(1)",
            "ftp://x.tld",
            "https://",
        ] {
            assert!(absolute_web_url("after_call_url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn embed_origins_are_canonical_origins() {
        assert_eq!(
            embed_origin("o", "https://App.Partner.TLD").unwrap(),
            "https://app.partner.tld"
        );
        assert_eq!(
            embed_origin("o", "https://app.partner.tld:443/").unwrap(),
            "https://app.partner.tld"
        );
        assert_eq!(
            embed_origin("o", "http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        for bad in [
            "app.partner.tld",
            "ftp://partner.tld",
            "https://partner.tld/path",
            "https://partner.tld?q=1",
            "https://user:pw@partner.tld",
            "https://partner.tld; script-src *",
            "https://partner;x.tld",
            "*",
        ] {
            assert!(embed_origin("o", bad).is_err(), "{bad}");
        }
        let list = embed_origins(&["https://a.tld".into(), "https://A.tld/".into()]).unwrap();
        assert_eq!(list, vec!["https://a.tld".to_string()]);
    }
}
