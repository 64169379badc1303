//! The hub against a real SQLite file: rooms do not wait for each other's database writes,
//! joins within one room stay ordered, and viewer counts are coalesced.

use std::{sync::Arc, time::Duration};

use super::*;
use crate::signal::mailbox::{self, Inbox};

/// A migrated SQLite database in a temporary folder, with reseller 1 and company 1.
async fn test_db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}/hub.db", dir.path().display());
    let db = Db::connect(&url).await.expect("open database");
    db.migrate().await.expect("migrate");
    sqlx::query(
        "INSERT INTO resellers (id, name, domain, created_at) VALUES (1, 'r', 'r.test', 0)",
    )
    .execute(&db.pool)
    .await
    .expect("reseller");
    sqlx::query(
        "INSERT INTO companies (id, reseller_id, subdomain, name, created_at, updated_at)
         VALUES (1, 1, 'c', 'c', 0, 0)",
    )
    .execute(&db.pool)
    .await
    .expect("company");
    (dir, db)
}

fn record(code: &str) -> RoomRecord {
    RoomRecord {
        reseller_id: 1,
        company_id: 1,
        host_id: None,
        conference_id: None,
        access_code: code.to_string(),
    }
}

fn view(peer: PeerId, name: &str) -> ParticipantView {
    ParticipantView {
        participant_id: format!("p{peer}"),
        name: name.to_string(),
        role: "guest",
        audio_muted: false,
        video_muted: false,
        screen_sharing: false,
        hand_raised: false,
    }
}

async fn join(hub: &Hub, room: &str, peer: PeerId, name: &str) -> (Vec<ParticipantView>, Inbox) {
    let (tx, rx) = mailbox::channel();
    let others = hub
        .join(room, &record(room), peer, view(peer, name), false, tx)
        .await
        .expect("join");
    (others, rx)
}

fn chat(text: &str) -> ServerMessage {
    ServerMessage::Chat {
        participant_id: "p0".into(),
        name: "test".into(),
        text: text.into(),
        sent_at: String::new(),
    }
}

/// Holds SQLite's write lock from another connection, as a long write elsewhere would.
async fn hold_write_lock(db: &Db) -> sqlx::pool::PoolConnection<sqlx::Any> {
    let mut conn = db.pool.acquire().await.expect("connection");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *conn)
        .await
        .expect("write lock");
    conn
}

async fn release_write_lock(mut conn: sqlx::pool::PoolConnection<sqlx::Any>) {
    sqlx::query("COMMIT")
        .execute(&mut *conn)
        .await
        .expect("commit");
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&db.pool)
        .await
        .expect("count")
}

/// Lets a spawned join reach its database write. Setup only: the assertions below do not
/// depend on how long anything takes.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_waiting_on_the_database_does_not_stall_other_rooms() {
    let (_dir, db) = test_db().await;
    let hub = Arc::new(Hub::new(db.clone(), 10));
    let (_, mut bob_inbox) = join(&hub, "1:b", PeerId(1), "Bob").await;

    // Room a's join waits on the database for as long as the test holds its write lock, which
    // is released only once room b has been served (well within SQLite's busy timeout).
    let lock = hold_write_lock(&db).await;
    let mut pending = tokio::spawn({
        let hub = hub.clone();
        async move {
            let (tx, _rx) = mailbox::channel();
            hub.join(
                "1:a",
                &record("1:a"),
                PeerId(2),
                view(PeerId(2), "Alice"),
                false,
                tx,
            )
            .await
        }
    });
    settle().await;

    let other_room = async {
        hub.broadcast("1:b", chat("hello"), None).await;
        hub.update("1:b", PeerId(1), |v| v.hand_raised = true).await;
        assert!(hub.contains("1:b", PeerId(1)).await);
        assert!(!hub.is_locked("1:b").await);
        assert_eq!(hub.occupancy("1:a").await, 0);
    };
    tokio::select! {
        biased;
        _ = &mut pending => panic!("room a's join ended before room b was served"),
        () = other_room => {}
    }
    assert!(matches!(
        bob_inbox.messages.try_recv(),
        Ok(ServerMessage::Chat { .. })
    ));

    release_write_lock(lock).await;
    // Had room b waited for room a, room a's join would have given up on the busy database first.
    let others = pending
        .await
        .expect("join task")
        .expect("room a's join outlasted the database lock");
    assert!(others.is_empty());
    assert_eq!(hub.occupancy("1:a").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_room_does_not_stop_joins_elsewhere() {
    let (_dir, db) = test_db().await;
    let hub = Arc::new(Hub::new(db.clone(), 10));
    // Room a is busy (as during a slow join); room b's join writes its rows and completes.
    let (_cell, held) = hub.rooms.enter("1:a").await;
    let mut waiting = tokio::spawn({
        let hub = hub.clone();
        async move { join(&hub, "1:a", PeerId(1), "Alice").await.0 }
    });
    tokio::select! {
        biased;
        _ = &mut waiting => panic!("a join got into a held room"),
        (others, _inbox) = join(&hub, "1:b", PeerId(2), "Bob") => assert!(others.is_empty()),
    }
    assert_eq!(hub.occupancy("1:b").await, 1);
    assert!(!waiting.is_finished());
    drop(held);
    assert!(waiting.await.expect("join task").is_empty());
    assert_eq!(hub.occupancy("1:a").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_in_one_room_wait_for_each_other_and_share_one_session() {
    let (_dir, db) = test_db().await;
    let hub = Arc::new(Hub::new(db.clone(), 10));
    let lock = hold_write_lock(&db).await;
    let first = tokio::spawn({
        let hub = hub.clone();
        async move { join(&hub, "1:a", PeerId(1), "Alice").await }
    });
    settle().await;
    let second = tokio::spawn({
        let hub = hub.clone();
        async move { join(&hub, "1:a", PeerId(2), "Bob").await.0 }
    });
    settle().await;
    release_write_lock(lock).await;
    let (alone, mut alice_inbox) = first.await.expect("first join");
    assert!(alone.is_empty());
    let others = second.await.expect("second join");
    assert_eq!(others.len(), 1, "Bob is told about Alice");
    assert_eq!(others[0].name, "Alice");
    assert!(matches!(
        alice_inbox.messages.try_recv(),
        Ok(ServerMessage::ParticipantJoined { .. })
    ));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM meeting_sessions").await, 1);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM meeting_participants").await,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_into_a_room_being_emptied_opens_a_new_session() {
    let (_dir, db) = test_db().await;
    let hub = Arc::new(Hub::new(db.clone(), 10));
    let (_, _alice_inbox) = join(&hub, "1:a", PeerId(1), "Alice").await;
    // Alice's leave waits on the database with the room's lock held; Bob's join queues behind it.
    let lock = hold_write_lock(&db).await;
    let leaving = tokio::spawn({
        let hub = hub.clone();
        async move { hub.leave("1:a", PeerId(1), "left").await }
    });
    settle().await;
    let joining = tokio::spawn({
        let hub = hub.clone();
        async move { join(&hub, "1:a", PeerId(2), "Bob").await.0 }
    });
    settle().await;
    release_write_lock(lock).await;
    leaving.await.expect("leave");
    assert!(joining.await.expect("join").is_empty());
    assert_eq!(hub.occupancy("1:a").await, 1);
    assert!(hub.contains("1:a", PeerId(2)).await);
    // The emptied room's session was closed; Bob's is a new one.
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM meeting_sessions WHERE ended_at IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM meeting_sessions WHERE ended_at IS NULL"
        )
        .await,
        1
    );
    hub.leave("1:a", PeerId(2), "left").await;
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM meeting_sessions WHERE ended_at IS NULL"
        )
        .await,
        0
    );
    assert!(hub.rooms.get("1:a").is_none(), "an empty room is forgotten");
}

/// Viewer counts a participant receives, until one equals `last` (or the hub goes quiet).
async fn counts_until(inbox: &mut Inbox, last: usize) -> Vec<usize> {
    let mut seen = Vec::new();
    // Only a guard against hanging: a correct hub delivers `last` about a second after the burst.
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_secs(10), inbox.messages.recv()).await
    {
        if let ServerMessage::Viewers { count } = message {
            seen.push(count);
            if count == last {
                break;
            }
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_counts_are_coalesced_and_end_on_the_final_count() {
    const VIEWERS: u64 = 50;
    let (_dir, db) = test_db().await;
    let hub = Hub::new(db, 100);
    let (_, mut alice) = join(&hub, "1:a", PeerId(1), "Alice").await;
    let mut viewer_inboxes = Vec::new();
    for peer in 100..100 + VIEWERS {
        let (tx, rx) = mailbox::channel();
        hub.add_viewer("1:a", PeerId(peer), tx)
            .await
            .expect("admitted");
        viewer_inboxes.push(rx);
    }
    let arrivals = counts_until(&mut alice, VIEWERS as usize).await;
    assert_eq!(arrivals.last(), Some(&(VIEWERS as usize)), "{arrivals:?}");
    assert!(arrivals.len() <= 3, "{arrivals:?}");
    // The first viewer hears the final count too.
    let first_viewer = counts_until(&mut viewer_inboxes[0], VIEWERS as usize).await;
    assert_eq!(first_viewer.last(), Some(&(VIEWERS as usize)));

    for peer in 100..100 + VIEWERS {
        hub.remove_viewer("1:a", PeerId(peer)).await;
    }
    let departures = counts_until(&mut alice, 0).await;
    assert_eq!(departures.last(), Some(&0), "{departures:?}");
    assert!(departures.len() <= 3, "{departures:?}");
}

/// The `participant_left` reasons queued for a member so far.
fn departures(inbox: &mut Inbox) -> Vec<(String, &'static str)> {
    let mut seen = Vec::new();
    while let Ok(message) = inbox.messages.try_recv() {
        if let ServerMessage::ParticipantLeft {
            participant_id,
            reason,
        } = message
        {
            seen.push((participant_id, reason));
        }
    }
    seen
}

const LEFT: &str = "SELECT COUNT(*) FROM meeting_participants WHERE left_at IS NOT NULL";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_stops_reading_is_told_to_go_and_hidden() {
    let (_dir, db) = test_db().await;
    let hub = Hub::new(db.clone(), 10);
    let (_, mut stalled) = join(&hub, "1:a", PeerId(1), "Stalled").await;
    let (_, mut bob) = join(&hub, "1:a", PeerId(2), "Bob").await;
    for _ in 0..=mailbox::OUTGOING_QUEUE {
        hub.broadcast("1:a", chat("flood"), Some(PeerId(2))).await;
    }
    assert!(matches!(
        stalled.farewell.try_recv(),
        Ok(mailbox::Farewell::Overflowed)
    ));
    // Until its session has left, newcomers and moderators no longer see it.
    let (others, _carol) = join(&hub, "1:a", PeerId(3), "Carol").await;
    let names: Vec<&str> = others.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["Bob"]);
    assert!(hub.guests("1:a").await.iter().all(|p| *p != PeerId(1)));
    hub.leave("1:a", PeerId(1), "connection_lost").await;
    assert_eq!(count(&db, LEFT).await, 1);
    assert_eq!(
        departures(&mut bob),
        [("p1".to_string(), "connection_lost")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_and_end_take_effect_for_members_with_full_queues() {
    let (_dir, db) = test_db().await;
    let hub = Hub::new(db.clone(), 10);
    let (_, mut alice) = join(&hub, "1:a", PeerId(1), "Alice").await;
    let (_, mut bob) = join(&hub, "1:a", PeerId(2), "Bob").await;
    let (_, mut carol) = join(&hub, "1:a", PeerId(3), "Carol").await;
    departures(&mut bob);
    departures(&mut alice);
    departures(&mut carol);
    // Alice's queue is exactly full: nothing more fits, and nothing has dismissed her yet.
    for _ in 0..mailbox::OUTGOING_QUEUE {
        assert!(hub.tell("1:a", PeerId(1), chat("backlog")).await);
    }
    assert!(alice.farewell.try_recv().is_err());

    let removed = ServerMessage::Removed {
        reason: "removed_by_moderator",
    };
    assert!(hub.remove("1:a", PeerId(1), removed).await);
    assert!(matches!(
        alice.farewell.try_recv(),
        Ok(mailbox::Farewell::Close(ServerMessage::Removed { .. }))
    ));
    assert!(!hub.contains("1:a", PeerId(1)).await);
    assert_eq!(count(&db, LEFT).await, 1);
    assert_eq!(departures(&mut bob), [("p1".to_string(), "removed")]);
    // Her session's own leave afterwards changes nothing.
    hub.leave("1:a", PeerId(1), "removed").await;
    assert_eq!(count(&db, LEFT).await, 1);

    departures(&mut carol);
    for _ in 0..mailbox::OUTGOING_QUEUE {
        assert!(hub.tell("1:a", PeerId(3), chat("backlog")).await);
    }
    hub.end("1:a").await;
    for inbox in [&mut bob, &mut carol] {
        assert!(matches!(
            inbox.farewell.try_recv(),
            Ok(mailbox::Farewell::Close(ServerMessage::Ended {}))
        ));
    }
    assert_eq!(count(&db, LEFT).await, 3);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM meeting_sessions WHERE ended_at IS NULL"
        )
        .await,
        0
    );
    assert_eq!(hub.occupancy("1:a").await, 0);
}
