//! Request counts and latencies of the HTTP listeners, by method, route template and status class.
//!
//! Labels are bounded whatever clients send: the route is the template the request matched
//! (`/conf/call/{code}`), never the raw path; unknown methods count as `other`.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{Method, StatusCode},
    middleware::Next,
    response::Response,
};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::{Registry, Unit},
};

use super::Metrics;

/// The route label of requests no route matched (404 pages, probes of random paths).
pub const UNMATCHED: &str = "unmatched";

/// Upper bounds of the request-duration buckets, seconds: 1 ms (static files) to 10 s (a
/// password hash waiting for a free core).
const DURATION_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// What one request is counted under.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    method: &'static str,
    route: String,
    status: &'static str,
}

/// The HTTP figures.
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    duration: Family<RequestLabels, Histogram, fn() -> Histogram>,
}

impl HttpMetrics {
    /// Creates the figures and registers them as `confab_http_requests_total` and
    /// `confab_http_request_duration_seconds`.
    pub fn register(registry: &mut Registry) -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let duration =
            Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(|| {
                Histogram::new(DURATION_BUCKETS)
            });
        registry.register(
            "confab_http_requests",
            "HTTP requests answered, by method, matched route template and status class",
            requests.clone(),
        );
        registry.register_with_unit(
            "confab_http_request_duration",
            "Time from a request's arrival to its response head, by method, route and status class",
            Unit::Seconds,
            duration.clone(),
        );
        Self { requests, duration }
    }

    fn observe(&self, labels: &RequestLabels, seconds: f64) {
        self.requests.get_or_create(labels).inc();
        self.duration.get_or_create(labels).observe(seconds);
    }
}

/// Middleware: counts every request and the time until its response head.
pub async fn record(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    let labels = RequestLabels {
        method,
        route,
        status: status_class(response.status()),
    };
    metrics
        .http
        .observe(&labels, started.elapsed().as_secs_f64());
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_bounded() {
        assert_eq!(method_label(&Method::GET), "GET");
        let odd = Method::from_bytes(b"BREW").expect("extension method");
        assert_eq!(method_label(&odd), "other");
        assert_eq!(status_class(StatusCode::SWITCHING_PROTOCOLS), "1xx");
        assert_eq!(status_class(StatusCode::NOT_FOUND), "4xx");
        assert_eq!(status_class(StatusCode::BAD_GATEWAY), "5xx");
    }

    #[test]
    fn recorded_requests_are_rendered() {
        let metrics = Metrics::new();
        let labels = RequestLabels {
            method: "POST",
            route: "/enterprise_api/host/list".into(),
            status: "2xx",
        };
        metrics.http.observe(&labels, 0.003);
        metrics.http.observe(&labels, 0.2);
        let text = metrics.render(None);
        let series = r#"{method="POST",route="/enterprise_api/host/list",status="2xx"}"#;
        assert!(
            text.contains(&format!("confab_http_requests_total{series} 2")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "confab_http_request_duration_seconds_count{series} 2"
            )),
            "{text}"
        );
        // 3 ms falls in the 5 ms bucket, 200 ms in the 250 ms one.
        assert!(
            text.contains(r#"confab_http_request_duration_seconds_bucket{method="POST",route="/enterprise_api/host/list",status="2xx",le="0.005"} 1"#),
            "{text}"
        );
    }
}
