//! Signalling: the WebSocket at `/conf/call/<access_code>/ws` that connects a browser (or bot)
//! to a room: authentication, SDP exchange with the SFU, room events, chat, moderation.

pub mod hub;
pub mod messages;
mod session;

use std::{
    net::{IpAddr, SocketAddr},
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    Router,
    extract::{
        ConnectInfo, Path, State, WebSocketUpgrade, ws::rejection::WebSocketUpgradeRejection,
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::{
    app::AppState,
    error::{AppError, AppResult},
    sfu::{PeerId, SfuHandle},
    store,
    tenancy::{Tenant, hosts::CODE_DIGITS, names, normalize_hostname},
};
use hub::{Hub, RoomRecord};

/// Largest signalling message (SDP of a large room included).
const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// The media side of the application: the SFU handle and the room hub.
pub struct Media {
    pub sfu: SfuHandle,
    pub hub: Hub,
    next_peer: AtomicU64,
    /// Joins and failed PIN attempts per client address.
    pub attempts: DefaultKeyedRateLimiter<IpAddr>,
}

impl Media {
    pub fn new(sfu: SfuHandle, hub: Hub, joins_per_minute: u32) -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(joins_per_minute).unwrap_or(NonZeroU32::MIN));
        Self {
            sfu,
            hub,
            next_peer: AtomicU64::new(1),
            attempts: RateLimiter::keyed(quota),
        }
    }

    fn next_peer(&self) -> PeerId {
        self.next_peer.fetch_add(1, Ordering::Relaxed)
    }
}

/// Everything a session needs to know about the room it joins.
#[derive(Debug, Clone)]
pub struct RoomAccess {
    pub room_key: String,
    pub record: RoomRecord,
    pub host_name: String,
    pub moderator_pin: String,
    pub security_pin: Option<String>,
}

/// Finds the room behind an access code on this tenant's domain.
pub async fn resolve_room(state: &AppState, tenant: &Tenant, code: &str) -> AppResult<RoomAccess> {
    let code = names::digits("access_code", code, CODE_DIGITS.0, CODE_DIGITS.1)
        .map_err(|_| AppError::not_found("Meeting room"))?;
    let (host_id, host_name, moderator_pin) =
        store::meetings::host_room(&state.db, tenant.reseller_id, tenant.company_id, &code)
            .await?
            .ok_or_else(|| AppError::not_found("Meeting room"))?;
    Ok(RoomAccess {
        room_key: format!("{}:{code}", tenant.reseller_id),
        record: RoomRecord {
            reseller_id: tenant.reseller_id,
            company_id: tenant.company_id,
            host_id: Some(host_id),
            conference_id: None,
            access_code: code,
        },
        host_name,
        moderator_pin,
        security_pin: None,
    })
}

/// Browsers send `Origin`; only pages of the tenant's own domain may open its rooms' sockets.
fn origin_allowed(headers: &HeaderMap, tenant: &Tenant) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(host) = origin
        .to_str()
        .ok()
        .and_then(|o| url::Url::parse(o).ok())
        .and_then(|u| u.host_str().map(str::to_string))
    else {
        return false;
    };
    normalize_hostname(&host).is_some_and(|h| h == tenant.hostname)
}

async fn websocket(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    tenant: Tenant,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let result: AppResult<Response> = async {
        let media = state.media.clone().ok_or_else(|| {
            AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "media_unavailable",
                "Media is not running",
            )
        })?;
        if !origin_allowed(&headers, &tenant) {
            return Err(AppError::forbidden(
                "This page may not open meetings of this domain",
            ));
        }
        let client = crate::api::session::client_address(&state, peer, &headers);
        if media.attempts.check_key(&client).is_err() {
            return Err(AppError::rate_limited(60));
        }
        let access = resolve_room(&state, &tenant, &code).await?;
        let upgrade =
            upgrade.map_err(|r| AppError::bad_request("websocket_required", r.body_text()))?;
        Ok(upgrade
            .max_message_size(MAX_MESSAGE_BYTES)
            .on_upgrade(move |socket| session::run(socket, media, access, client))
            .into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Routes of the signalling layer.
pub fn router() -> Router<AppState> {
    Router::new().route("/conf/call/{code}/ws", get(websocket))
}

/// Shared handle type stored in the application state.
pub type MediaHandle = Arc<Media>;
