//! Static assets compiled into the binary, so one file is the whole deployment.

use std::{collections::HashMap, sync::OnceLock};

use axum::{
    extract::{Path, RawQuery},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use crate::error::AppError;

const FILES: &[(&str, &str, &str)] = &[
    (
        "base.css",
        "text/css; charset=utf-8",
        include_str!("../../static/base.css"),
    ),
    (
        "meeting.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/meeting.js"),
    ),
    (
        "meeting.css",
        "text/css; charset=utf-8",
        include_str!("../../static/meeting.css"),
    ),
    (
        "rtc.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/rtc.js"),
    ),
    (
        "livestream.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/livestream.js"),
    ),
    (
        "livestream.css",
        "text/css; charset=utf-8",
        include_str!("../../static/livestream.css"),
    ),
    (
        "embed.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/embed.js"),
    ),
    (
        "external_api.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/external_api.js"),
    ),
    (
        "embed-demo.html",
        "text/html; charset=utf-8",
        include_str!("../../static/embed-demo.html"),
    ),
    (
        "embed-demo.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/embed-demo.js"),
    ),
];

/// A short content hash of each file, computed once.
fn versions() -> &'static HashMap<&'static str, String> {
    static VERSIONS: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    VERSIONS.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, _, body)| {
                let digest = Sha256::digest(body.as_bytes());
                let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
                (*name, hex)
            })
            .collect()
    })
}

/// The URL pages use for one of these files: `/static/<file>?v=<content hash>`, so that a new
/// release's scripts are fetched at once while browsers keep each version for a year.
pub fn url(file: &str) -> String {
    match versions().get(file) {
        Some(version) => format!("/static/{file}?v={version}"),
        None => format!("/static/{file}"),
    }
}

/// `GET /static/<file>`: cached for a year under its current version's URL, briefly otherwise
/// (the SDK and the demo are linked from other sites without a version).
pub async fn serve(Path(file): Path<String>, RawQuery(query): RawQuery) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((name, mime, body)) => {
            let asked = query.as_deref().and_then(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .find(|(key, _)| key == "v")
                    .map(|(_, value)| value.into_owned())
            });
            let current = asked.is_some() && asked.as_ref() == versions().get(name);
            let cache = if current {
                "public, max-age=31536000, immutable"
            } else {
                "public, max-age=300"
            };
            let mut response = (*body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            response
        }
        None => AppError::not_found("File").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_content_hash() {
        let url = url("meeting.js");
        let (path, version) = url.split_once("?v=").unwrap();
        assert_eq!(path, "/static/meeting.js");
        assert_eq!(version.len(), 12);
        assert_ne!(url, super::url("rtc.js").replace("rtc.js", "meeting.js"));
        assert_eq!(super::url("nope.js"), "/static/nope.js");
    }
}
