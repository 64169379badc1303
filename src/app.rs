//! Application state, router assembly and the serve loop.

use std::{net::SocketAddr, ops::Deref, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, header},
};
use tokio::{net::TcpListener, sync::Notify};
use tower_http::{set_header::SetResponseHeaderLayer, trace::TraceLayer};

use crate::{
    api::{self, extract::MAX_BODY_BYTES},
    auth::{rate_limit::LoginLimiter, sso::SsoRuntime},
    config::Config,
    mail::{self, transport::Transport},
    metrics::Metrics,
    sfu::{SfuConfig, SfuHandle},
    signal::{self, Media, MediaHandle, hub::Hub},
    store::{self, Db},
    web,
};

/// Everything a request handler may need.
pub struct App {
    pub config: Config,
    pub db: Db,
    pub transport: Transport,
    /// Wakes the mail worker after a message was queued.
    pub mail_wake: Arc<Notify>,
    /// Wakes the certificate loop after a custom domain was verified.
    pub acme_wake: Arc<Notify>,
    pub login_limiter: LoginLimiter,
    /// The SFU and room hub; absent in one-shot commands that do not serve.
    pub media: Option<MediaHandle>,
    /// `/auth` failure budget and the OpenID Connect HTTP client.
    pub sso: SsoRuntime,
    /// Signs the CSRF tokens of forms.
    pub form_key: web::csrf::FormKey,
    /// Prometheus figures; present only when `metrics_listen` is set, so nothing is recorded
    /// for a listener that does not exist.
    pub metrics: Option<Arc<Metrics>>,
}

/// Cheap-to-clone handle on [`App`], the axum state.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl AppState {
    /// Everything needed to serve: database, mail, and the media plane on its UDP socket.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let mut state = Self::build_offline(config).await?;
        let closed = store::meetings::close_dangling(&state.db).await?;
        if closed > 0 {
            tracing::info!(
                closed,
                "closed meeting sessions left open by the previous run"
            );
        }
        let sfu = SfuHandle::start(SfuConfig {
            udp: state.config.media_udp,
            public_ip: state
                .config
                .media_public_ip
                .as_deref()
                .map(str::parse)
                .transpose()?,
            max_video_bitrate: u64::from(state.config.media_max_video_kbps) * 1000,
        })
        .await?;
        let mut media = Media::new(
            sfu,
            Hub::new(
                state.db.clone(),
                usize::try_from(state.config.livestream_max_viewers).unwrap_or(usize::MAX),
            ),
            state.config.joins_per_address_per_minute,
        );
        if !state.config.turn_urls.is_empty() {
            media.ice_servers.push(signal::messages::IceServer {
                urls: state.config.turn_urls.clone(),
                username: state.config.turn_username.clone(),
                credential: state.config.turn_credential.clone(),
            });
        }
        if let Some(app) = Arc::get_mut(&mut state.0) {
            app.media = Some(Arc::new(media));
        }
        Ok(state)
    }

    /// Database and mail only, for commands that do not serve (`migrate`, `reseller create`).
    pub async fn build_offline(config: Config) -> anyhow::Result<Self> {
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        let transport = Transport::from_config(config.smtp_url.as_deref(), config.outbox_dir())?;
        let login_limiter = LoginLimiter::new(
            config.login_attempts_per_account_per_minute,
            config.login_attempts_per_address_per_minute,
            config.login_attempts_per_minute,
        );
        let sso = SsoRuntime::new(&config)?;
        let form_key = web::csrf::FormKey::load(&db).await?;
        let metrics = config.metrics_listen.map(|_| Arc::new(Metrics::new()));
        Ok(AppState(Arc::new(App {
            config,
            db,
            transport,
            mail_wake: Arc::new(Notify::new()),
            acme_wake: Arc::new(Notify::new()),
            login_limiter,
            sso,
            form_key,
            media: None,
            metrics,
        })))
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    let metrics = state.metrics.clone();
    let router = Router::new()
        .nest("/enterprise_api", api::router())
        .merge(web::router())
        .merge(signal::router())
        .fallback(web::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::REFERRER_POLICY, "same-origin"))
        .layer(header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'self'",
        ))
        // Outside the default policy above, so it can adjust `frame-ancestors` per company.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::frame_policy::frame_ancestors,
        ))
        .layer(axum::middleware::from_fn(
            crate::tenancy::refuse_ambiguous_host,
        ))
        .layer(TraceLayer::new_for_http());
    // Outermost, so a request refused by any layer above is counted too; `Router::layer` runs
    // it after routing, where the matched route template is known.
    let router = match metrics {
        Some(metrics) => router.layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::http::record,
        )),
        None => router,
    };
    router.with_state(state)
}

/// 405 with the same JSON body as every other error.
async fn method_not_allowed(method: axum::http::Method) -> crate::error::AppError {
    crate::error::AppError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed here; the API takes POST"),
    )
}

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

/// Periodic clean-up of expired sessions and idle rate-limit state.
async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        state.login_limiter.forget_idle();
        state.sso.failures.forget_idle();
        if let Some(media) = &state.media {
            media.attempts.retain_recent();
            media.pin_lockout.forget_idle(std::time::Instant::now());
        }
        match crate::tenancy::domains::expire_pending(&state).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed custom domains never verified"),
            Err(err) => tracing::warn!(%err, "pending domain clean-up failed"),
        }
        // Expired sessions stay a week so clients hear "Session expired" rather than "Invalid token".
        if let Err(err) = store::credentials::purge_expired_sessions(&state.db, 7 * 86_400).await {
            tracing::warn!(%err, "session purge failed");
        }
    }
}
