//! TLS termination in `confab serve`: rustls (ring provider) with certificates per SNI from the
//! operator's folder, HTTP/1.1 over the TLS stream, HSTS on every HTTPS answer, and the plain
//! listener's redirect to HTTPS for known tenant hostnames.

pub mod acme;
pub mod certs;
#[cfg(test)]
mod resolver_tests;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use hyper_util::rt::TokioIo;
use rustls::ServerConfig;
use tokio::{net::TcpListener, sync::watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::{app::AppState, store, tenancy::requested_hostname};

use certs::CertStore;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// HSTS value of every HTTPS answer: one year, so browsers never try plain HTTP again.
const HSTS: &str = "max-age=31536000";

/// The rustls server configuration over a certificate store, with ring as the only provider.
pub fn server_config(store: Arc<CertStore>) -> anyhow::Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(store);
    // The connection handler speaks HTTP/1.1 only (WebSocket signalling upgrades from it);
    // `acme-tls/1` is accepted only to show a TLS-ALPN-01 challenge certificate, then closed.
    config.alpn_protocols = vec![b"http/1.1".to_vec(), certs::ACME_TLS_ALPN.to_vec()];
    Ok(Arc::new(config))
}

/// Adds `Strict-Transport-Security` to every answer of the HTTPS listener.
pub fn with_hsts(router: Router) -> Router {
    router.layer(SetResponseHeaderLayer::overriding(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(HSTS),
    ))
}

/// What the plain listener's redirect needs to know.
#[derive(Clone)]
pub struct Redirect {
    pub app: AppState,
    pub certs: Arc<CertStore>,
}

/// Plain-HTTP middleware when TLS is on: 308 to the same host and path over HTTPS, only for
/// verified tenant hostnames (never an open redirect) that have a certificate — a custom domain
/// whose certificate is still being obtained stays usable over HTTP rather than being sent to a
/// handshake that must fail. `/.well-known/` (domain verification, ACME challenges) stays on HTTP.
pub async fn redirect_to_https(
    State(Redirect { app, certs }): State<Redirect>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with("/.well-known/") {
        return next.run(request).await;
    }
    let hostname = requested_hostname(
        request.headers(),
        request.uri().authority().map(|a| a.as_str()),
        app.config.trust_forwarded_headers,
    );
    let Some(hostname) = hostname.filter(|h| certs.find(h).is_some()) else {
        return next.run(request).await;
    };
    match store::custom_domains::is_verified(&app.db, &hostname).await {
        Ok(true) => {
            let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
            let location = format!("{}{path}", app.config.https_base_url(&hostname));
            match HeaderValue::try_from(location) {
                Ok(location) => (
                    StatusCode::PERMANENT_REDIRECT,
                    [(header::LOCATION, location)],
                )
                    .into_response(),
                Err(_) => next.run(request).await,
            }
        }
        // Unknown hostnames get the ordinary unknown-domain answer.
        Ok(false) => next.run(request).await,
        Err(err) => crate::error::AppError::from(err).into_response(),
    }
}

/// Accepts TLS connections until `shutdown` turns true and serves `router` on each, with the
/// peer address as `ConnectInfo` like the plain listener (rate limits rely on it).
pub async fn serve(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(config);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(%err, "TLS accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(err)) => {
                    tracing::debug!(%err, %peer, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            if tls.get_ref().1.alpn_protocol() == Some(certs::ACME_TLS_ALPN) {
                // A CA saw the challenge certificate during the handshake: nothing to serve.
                return;
            }
            serve_connection(tls, peer, router).await;
        });
    }
}

async fn serve_connection(
    tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    peer: SocketAddr,
    router: Router,
) {
    let service =
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request.map(axum::body::Body::new))
        });
    if let Err(err) = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tls), service)
        .with_upgrades()
        .await
    {
        tracing::debug!(%err, %peer, "HTTPS connection ended with an error");
    }
}
