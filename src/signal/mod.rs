//! Signalling: the WebSocket at `/conf/call/<access_code>/ws` that connects a browser (or bot)
//! to a room: authentication, SDP exchange with the SFU, room events, chat, moderation.

mod audience;
mod chat_limit;
pub mod hub;
mod join;
mod link;
mod mailbox;
pub mod messages;
mod pin_lockout;
mod session;
mod viewer;

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
    tenancy::{Tenant, normalize_hostname},
};
use hub::Hub;

pub use crate::room::{RoomAccess, RoomRecord, resolve_room, room_id};

/// Largest signalling message (SDP of a large room included).
const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// The media side of the application: the SFU handle and the room hub.
pub struct Media {
    pub sfu: SfuHandle,
    pub hub: Hub,
    next_peer: AtomicU64,
    /// Joins and failed PIN attempts per client address.
    pub attempts: DefaultKeyedRateLimiter<IpAddr>,
    /// Wrong PINs per room, across client addresses.
    pub pin_lockout: pin_lockout::PinLockout,
    /// STUN/TURN servers handed to clients.
    pub ice_servers: Vec<messages::IceServer>,
}

impl Media {
    pub fn new(sfu: SfuHandle, hub: Hub, joins_per_minute: u32) -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(joins_per_minute).unwrap_or(NonZeroU32::MIN));
        Self {
            sfu,
            hub,
            next_peer: AtomicU64::new(1),
            attempts: RateLimiter::keyed(quota),
            pin_lockout: pin_lockout::PinLockout::default(),
            ice_servers: Vec::new(),
        }
    }

    fn next_peer(&self) -> PeerId {
        PeerId(self.next_peer.fetch_add(1, Ordering::Relaxed))
    }
}

/// The room as `joined` describes it to the client.
pub fn room_view(access: &RoomAccess) -> messages::RoomView {
    messages::RoomView {
        access_code: access.record.access_code.clone(),
        host_name: access.host_name.clone(),
        mute_mode: access.mute_mode.clone(),
    }
}
/// Whether a `?mod=` moderator link token is valid for this room: a token of the room's own
/// conference, or of a conference its host holds in this personal room.
pub async fn is_moderator_token(
    state: &AppState,
    access: &RoomAccess,
    token: &str,
) -> AppResult<bool> {
    if let Some(conference_id) = access.record.conference_id {
        return crate::scheduling::rooms::moderator_for(&state.db, conference_id, token).await;
    }
    let Some(conference_id) = crate::scheduling::rooms::conference_of_moderator_token(
        &state.db,
        access.record.reseller_id,
        token,
    )
    .await?
    else {
        return Ok(false);
    };
    let held_here = store::conferences::get(&state.db, access.record.reseller_id, conference_id)
        .await?
        .is_some_and(|c| Some(c.host_id) == access.record.host_id && c.access_code.is_none());
    Ok(held_here)
}

/// Whether the request carries the browser session of the room's own host.
pub async fn is_signed_in_host(
    state: &AppState,
    tenant: &Tenant,
    headers: &HeaderMap,
    access: &RoomAccess,
) -> AppResult<bool> {
    let session = crate::auth::browser_session::current(state, tenant, headers).await?;
    Ok(session.is_some_and(|s| access.record.host_id == Some(s.host.id)))
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
        if media
            .attempts
            .check_key(&crate::auth::rate_limit::address_key(client))
            .is_err()
        {
            return Err(AppError::rate_limited(60));
        }
        let mut access = resolve_room(&state, &tenant, &code).await?;
        access.signed_in_host = is_signed_in_host(&state, &tenant, &headers, &access).await?;
        let upgrade =
            upgrade.map_err(|r| AppError::bad_request("websocket_required", r.body_text()))?;
        Ok(upgrade
            .max_message_size(MAX_MESSAGE_BYTES)
            .on_upgrade(move |socket| session::run(socket, state, media, access, client))
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
