//! Which sites may show a company's pages in a frame: every HTML answer on a company domain gets
//! `frame-ancestors 'self'` plus the origins the company allowed (`company/update`,
//! `embed_origins`). Other answers (API JSON, redirects) keep the default policy.

use axum::{
    extract::{Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
};

use crate::{app::AppState, store, tenancy::requested_hostname};

/// Middleware; must sit outside the layer that sets the default `Content-Security-Policy`, so it
/// sees the final policy and only replaces its `frame-ancestors` directive.
pub async fn frame_ancestors(
    State(app): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let hostname = requested_hostname(
        request.headers(),
        request.uri().authority().map(|a| a.as_str()),
        app.config.trust_forwarded_headers,
    );
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let Some(hostname) = hostname.filter(|_| is_html) else {
        return response;
    };
    let origins = match store::sso::embed_origins_for_hostname(&app.db, &hostname).await {
        Ok(origins) => origins,
        Err(err) => {
            // Fail closed: without the list only the site itself may frame the page.
            tracing::warn!(%err, "cannot load embed origins");
            Vec::new()
        }
    };
    let current = response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let policy = with_frame_ancestors(current, &origins);
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// `policy` with its `frame-ancestors` directive replaced by `'self'` and `origins`.
pub fn with_frame_ancestors(policy: &str, origins: &[String]) -> String {
    let mut directives: Vec<String> = policy
        .split(';')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .filter(|d| {
            !d.split_whitespace()
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case("frame-ancestors"))
        })
        .map(str::to_string)
        .collect();
    let mut ancestors = String::from("frame-ancestors 'self'");
    for origin in origins {
        ancestors.push(' ');
        ancestors.push_str(origin);
    }
    directives.push(ancestors);
    directives.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_frame_ancestors() {
        let policy = "default-src 'self'; frame-ancestors 'self'; base-uri 'none'";
        assert_eq!(
            with_frame_ancestors(policy, &["https://app.partner.tld".into()]),
            "default-src 'self'; base-uri 'none'; frame-ancestors 'self' https://app.partner.tld"
        );
        assert_eq!(with_frame_ancestors("", &[]), "frame-ancestors 'self'");
    }
}
