//! What every request handler may reach ([`App`]) and how it is built.

use std::{ops::Deref, sync::Arc};

use tokio::sync::Notify;

use crate::{
    auth::{rate_limit::LoginLimiter, sso::SsoRuntime},
    config::Config,
    mail::transport::Transport,
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
