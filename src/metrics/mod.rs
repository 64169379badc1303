//! Prometheus metrics on their own listener (`metrics_listen`), never on the public one.
//!
//! HTTP request figures are recorded here as requests pass ([`http`]); the media figures stay in
//! the SFU crate's own counters and are read once per scrape ([`sfu`]), so the media plane does
//! no metrics work of its own and depends on no metrics crate.

pub mod http;
mod sfu;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use prometheus_client::{encoding::prometheus_text, registry::Registry};
use tokio::net::TcpListener;

use crate::sfu::SfuHandle;

/// A scrape waits this long for the media engine before answering without its figures.
const SFU_SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);

/// The metrics of one server process.
pub struct Metrics {
    registry: Registry,
    /// Request counts and latencies, recorded by [`http::record`].
    pub http: http::HttpMetrics,
}

impl Metrics {
    /// Registers every metric recorded directly by this crate.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let http = http::HttpMetrics::register(&mut registry);
        Self { registry, http }
    }

    /// The Prometheus text exposition: what was recorded, then the SFU's figures when given.
    pub fn render(&self, sfu: Option<&crate::sfu::SfuStats>) -> String {
        let mut text = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_text::encode(&mut text, &self.registry);
        let _ = prometheus_text::encode(&mut text, &sfu::registry(sfu));
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone)]
struct Scrape {
    metrics: Arc<Metrics>,
    sfu: Option<SfuHandle>,
}

/// The metrics listener's whole surface: `GET /metrics`.
pub fn router(metrics: Arc<Metrics>, sfu: Option<SfuHandle>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(Scrape { metrics, sfu })
}

async fn scrape(State(scrape): State<Scrape>) -> Response {
    let sfu = match &scrape.sfu {
        Some(handle) => match tokio::time::timeout(SFU_SCRAPE_TIMEOUT, handle.counters()).await {
            Ok(Ok(stats)) => Some(stats),
            Ok(Err(err)) => {
                tracing::warn!(%err, "metrics scrape without SFU figures");
                None
            }
            Err(_) => {
                tracing::warn!("metrics scrape without SFU figures: the engine did not answer");
                None
            }
        },
        None => None,
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
        scrape.metrics.render(sfu.as_ref()),
    )
        .into_response()
}

/// Serves [`router`] on `listener` until `stopped` turns true.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    sfu: Option<SfuHandle>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let app = router(metrics, sfu).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .await;
    if let Err(err) = served {
        tracing::error!(%err, "metrics listener failed");
    }
}
