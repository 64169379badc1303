//! Moderation is callable without a WebSocket: the room service mutes, removes, locks and ends
//! the meeting for an API method or a console as it does for a moderator's message.

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    bot::{Ws, connect_ws, next_json},
    helpers::TestApp,
    on_each_backend,
};

const ROOM: &str = "3456789";
const HOST: &str = "joe.alpha.test";

async fn guest(app: &TestApp, name: &str) -> (Ws, Value) {
    let mut ws = connect_ws(app.addr, HOST, ROOM).await;
    let join = json!({"type": "join", "name": name}).to_string();
    ws.send(Message::Text(join.into())).await.expect("join");
    let joined = next_json(&mut ws).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    (ws, joined)
}

/// The next message of `kind` on `ws`, skipping others.
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let message = next_json(ws).await;
        if message["type"] == kind {
            return message;
        }
    }
}

on_each_backend!(moderation_works_without_a_websocket);

async fn moderation_works_without_a_websocket(app: TestApp) {
    app.joe_room(ROOM, Some("8765432")).await;
    let media = app.state.media.clone().expect("media");
    let reseller_id: i64 =
        sqlx::query_scalar("SELECT id FROM resellers WHERE domain = 'alpha.test'")
            .fetch_one(&app.state.db.pool)
            .await
            .expect("reseller");
    let room = confab::signal::room_id(reseller_id, ROOM);
    let (mut ann, _) = guest(&app, "Ann").await;
    let (mut bob, bob_joined) = guest(&app, "Bob").await;
    let id = |joined: &Value| {
        confab::signal::messages::parse_wire_id(joined["participant_id"].as_str().expect("id"))
            .expect("wire id")
    };

    confab::room::moderation::mute(&media, &room, id(&bob_joined)).await;
    next_of(&mut bob, "muted_by_moderator").await;
    let updated = next_of(&mut ann, "participant_updated").await;
    assert_eq!(updated["participant"]["audio_muted"], true, "{updated}");

    confab::room::moderation::remove(&media, &room, id(&bob_joined)).await;
    let removed = next_of(&mut bob, "removed").await;
    assert_eq!(removed["reason"], "removed_by_moderator");
    let left = next_of(&mut ann, "participant_left").await;
    assert_eq!(left["participant_id"], bob_joined["participant_id"]);

    confab::room::moderation::lock(&media, &room, true).await;
    next_of(&mut ann, "room_locked").await;
    let mut late = connect_ws(app.addr, HOST, ROOM).await;
    let join = json!({"type": "join", "name": "Late"}).to_string();
    late.send(Message::Text(join.into())).await.expect("join");
    let refused = next_json(&mut late).await;
    assert_eq!(
        refused["type"], "error",
        "a locked room admits no guest: {refused}"
    );

    confab::room::moderation::end(&media, &room).await;
    next_of(&mut ann, "ended").await;
    let open: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM meeting_sessions WHERE ended_at IS NULL")
            .fetch_one(&app.state.db.pool)
            .await
            .expect("sessions");
    assert_eq!(open, 0, "the meeting session is closed");
}
