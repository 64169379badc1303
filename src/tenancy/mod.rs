//! Tenancy: every request is resolved to the company (and so the reseller) whose domain it came to.

pub mod companies;
pub mod domain_check;
pub mod domains;
pub mod hosts;
pub mod names;
pub mod resellers;
pub mod themes;

use std::sync::Arc;

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, header, request::Parts},
};

use crate::{
    app::AppState,
    error::{AppError, AppResult},
    store,
};

/// The company and reseller a request is for.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub hostname: String,
    pub company_id: i64,
    pub company_name: String,
    pub reseller_id: i64,
    pub reseller_name: String,
    pub reseller_domain: String,
    pub is_admin_company: bool,
    /// The company's effective theme, read with the tenant so every page and error can use it.
    pub theme: Arc<themes::Effective>,
    /// Page option `?hideLogo=1` (set by the page extractor) for embedders.
    pub hide_logo: bool,
}

/// Lowercases, strips the port and a trailing dot: `Joe.Example.COM.:8080` → `joe.example.com`.
pub fn normalize_hostname(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let without_port = if let Some(rest) = raw.strip_prefix('[') {
        // IPv6 literal: `[::1]:8080`.
        rest.split(']').next().unwrap_or_default()
    } else {
        raw.rsplit_once(':').map_or(raw, |(host, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                host
            } else {
                raw
            }
        })
    };
    let host = without_port.trim_end_matches('.').to_ascii_lowercase();
    let valid = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b':');
    valid.then_some(host)
}

/// Whether the request carries more than one `Host` header. Such a request names two tenants:
/// a proxy and this server could each pick another one, so it is refused rather than guessed.
pub fn has_ambiguous_host(headers: &HeaderMap) -> bool {
    headers.get_all(header::HOST).iter().nth(1).is_some()
}

/// Refuses (400, JSON) a request with more than one `Host` header, before anything resolves a
/// tenant, redirects or serves a file from it.
pub async fn refuse_ambiguous_host(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if has_ambiguous_host(request.headers()) {
        return AppError::bad_request(
            "duplicate_host_header",
            "Host: the request has more than one Host header",
        )
        .into_response();
    }
    next.run(request).await
}

/// The hostname the client asked for, honouring `X-Forwarded-Host` only when trusted; none
/// when the `Host` header is given twice.
pub fn requested_hostname(
    headers: &HeaderMap,
    parts_authority: Option<&str>,
    trust_forwarded: bool,
) -> Option<String> {
    if has_ambiguous_host(headers) {
        return None;
    }
    let forwarded = trust_forwarded
        .then(|| headers.get_all("x-forwarded-host").iter().next_back())
        .flatten()
        .and_then(|v| v.to_str().ok())
        // A proxy that appends puts its own value last (on its own line or after a comma);
        // earlier values came from the client.
        .and_then(|v| v.rsplit(',').next());
    let host = forwarded
        .or_else(|| headers.get(header::HOST).and_then(|v| v.to_str().ok()))
        .or(parts_authority)?;
    normalize_hostname(host)
}

impl Tenant {
    /// Resolves the tenant of a request from its headers.
    pub async fn resolve(state: &AppState, parts: &Parts) -> AppResult<Self> {
        let unknown = || {
            AppError::new(
                axum::http::StatusCode::NOT_FOUND,
                "unknown_domain",
                "No company is served at this domain",
            )
        };
        let authority = parts.uri.authority().map(|a| a.as_str());
        let hostname = requested_hostname(
            &parts.headers,
            authority,
            state.config.trust_forwarded_headers,
        )
        .ok_or_else(unknown)?;
        let found = store::domains::resolve(&state.db, &hostname)
            .await?
            .ok_or_else(unknown)?;
        let theme = themes::effective(
            &state.db,
            found.reseller_id,
            found.company_id,
            &found.reseller_name,
        )
        .await?;
        Ok(Tenant {
            theme,
            hide_logo: false,
            hostname: found.hostname,
            company_id: found.company_id,
            company_name: found.company_name,
            reseller_id: found.reseller_id,
            reseller_name: found.reseller_name,
            reseller_domain: found.reseller_domain,
            is_admin_company: found.is_admin_company,
        })
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(tenant) = parts.extensions.get::<Tenant>() {
            return Ok(tenant.clone());
        }
        let tenant = Tenant::resolve(state, parts).await?;
        parts.extensions.insert(tenant.clone());
        Ok(tenant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_are_normalised() {
        assert_eq!(
            normalize_hostname("Joe.Example.COM.:8080").as_deref(),
            Some("joe.example.com")
        );
        assert_eq!(
            normalize_hostname("localhost").as_deref(),
            Some("localhost")
        );
        assert_eq!(normalize_hostname("[::1]:8080").as_deref(), Some("::1"));
        assert_eq!(normalize_hostname("bad host"), None);
        assert_eq!(normalize_hostname(""), None);
    }

    #[test]
    fn a_second_host_header_resolves_nothing() {
        let mut headers = HeaderMap::new();
        headers.append(header::HOST, "joe.example.com".parse().unwrap());
        assert!(!has_ambiguous_host(&headers));
        headers.append(header::HOST, "ann.example.com".parse().unwrap());
        assert!(has_ambiguous_host(&headers));
        assert_eq!(requested_hostname(&headers, None, false), None);
    }

    #[test]
    fn the_last_forwarded_host_line_wins() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "proxy.internal".parse().unwrap());
        headers.append("x-forwarded-host", "evil.example.com".parse().unwrap());
        headers.append("x-forwarded-host", "joe.example.com".parse().unwrap());
        assert_eq!(
            requested_hostname(&headers, None, true).as_deref(),
            Some("joe.example.com")
        );
    }

    #[test]
    fn forwarded_host_needs_trust() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "proxy.internal".parse().unwrap());
        headers.insert("x-forwarded-host", "joe.example.com".parse().unwrap());
        assert_eq!(
            requested_hostname(&headers, None, false).as_deref(),
            Some("proxy.internal")
        );
        assert_eq!(
            requested_hostname(&headers, None, true).as_deref(),
            Some("joe.example.com")
        );
    }
}
