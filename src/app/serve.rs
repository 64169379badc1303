//! The serve loop: listeners (plain, TLS, metrics) and the background tasks beside them.

use std::{net::SocketAddr, time::Duration};

use tokio::net::TcpListener;

use crate::mail::{self};

use super::{AppState, housekeeping::housekeeping, router::router};

/// Starts background work (mail delivery, housekeeping) and serves HTTP until `shutdown` resolves.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_all(state, listener, None, shutdown).await
}

/// Like [`serve`], plus HTTPS on `tls_listener` when given (certificates from `tls_cert_dir`):
/// the plain listener then redirects tenant hostnames to HTTPS.
pub async fn serve_all(
    state: AppState,
    listener: TcpListener,
    tls_listener: Option<TcpListener>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Load certificates first: a bad folder stops start-up before anything runs.
    let tls = match tls_listener {
        Some(tls_listener) => {
            let acme = crate::tls::acme::AcmeSettings::from_config(&state.config);
            if acme.is_some() {
                // With automatic certificates the operator's folder may well start empty.
                std::fs::create_dir_all(&state.config.tls_cert_dir)?;
            }
            let certs = crate::tls::certs::CertStore::load(&state.config.tls_cert_dir)?;
            let every = Duration::from_secs(state.config.tls_reload_secs);
            certs.watch(every);
            tracing::info!(names = ?certs.names(), "TLS certificates");
            if let Some(acme) = acme {
                tokio::spawn(crate::tls::acme::run(
                    state.db.clone(),
                    acme,
                    certs.clone(),
                    state.acme_wake.clone(),
                    every,
                ));
            }
            Some((
                tls_listener,
                certs.clone(),
                crate::tls::server_config(certs)?,
            ))
        }
        None => None,
    };
    tokio::spawn(mail::worker::run(
        state.db.clone(),
        state.transport.clone(),
        state.mail_wake.clone(),
    ));
    tokio::spawn(housekeeping(state.clone()));
    tokio::spawn(crate::scheduling::reminders::run(state.clone()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    if let (Some(listen), Some(metrics)) = (state.config.metrics_listen, &state.metrics) {
        // Bound here, before serving, so a taken port stops start-up like the main listener.
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|err| anyhow::anyhow!("cannot bind metrics_listen {listen}: {err}"))?;
        tracing::info!(%listen, "metrics listening on /metrics");
        let sfu = state.media.as_ref().map(|m| m.sfu.clone());
        tokio::spawn(crate::metrics::serve(
            listener,
            metrics.clone(),
            sfu,
            stopped.clone(),
        ));
    }
    let mut plain = router(state.clone());
    if let Some((tls_listener, certs, config)) = tls {
        let https = crate::tls::with_hsts(router(state.clone()));
        tokio::spawn(crate::tls::serve(
            tls_listener,
            config,
            https,
            stopped.clone(),
        ));
        plain = plain.layer(axum::middleware::from_fn_with_state(
            crate::tls::Redirect { app: state, certs },
            crate::tls::redirect_to_https,
        ));
        // The redirect reads the Host header too: refuse an ambiguous one before it.
        plain = plain.layer(axum::middleware::from_fn(
            crate::tenancy::refuse_ambiguous_host,
        ));
    }
    let mut stopped = stopped;
    axum::serve(
        listener,
        plain.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    })
    .await?;
    Ok(())
}
