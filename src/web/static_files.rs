//! Static assets compiled into the binary, so one file is the whole deployment.

use axum::{
    extract::Path,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};

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

/// `GET /static/<file>`.
pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, mime, body)) => {
            let mut response = (*body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            );
            response
        }
        None => AppError::not_found("File").into_response(),
    }
}
