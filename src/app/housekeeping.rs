//! Periodic clean-up.

use std::time::Duration;

use crate::store;

use super::AppState;

/// Periodic clean-up of expired sessions and idle rate-limit state.
pub(super) async fn housekeeping(state: AppState) {
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
