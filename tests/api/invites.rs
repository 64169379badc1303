//! Calendar emails through a real SMTP server: invitations, updates (same UID, higher SEQUENCE,
//! added and removed invitees), cancellation, and reminders fired by the scheduler.

use std::time::Duration;

use confab::scheduling::{reminders, rooms};
use serde_json::{Value, json};

use crate::{
    calendar::{header, invite, mails_to, wait_for_mails},
    helpers::{Backend, TestApp},
    on_each_backend,
};

fn token_of(url: &str) -> String {
    url.split("?mod=")
        .nth(1)
        .expect("moderator token")
        .to_string()
}

fn link_of(answer: &Value, email: &str) -> String {
    answer["moderator_join_urls"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["email"] == email)
        .and_then(|l| l["join_url"].as_str())
        .unwrap_or_else(|| panic!("no moderator link for {email}: {answer}"))
        .to_string()
}

on_each_backend!(invitations_updates_and_cancellations);

async fn invitations_updates_and_cancellations(app: TestApp) {
    let r = app.alpha.clone();
    let api = r.api_host.clone();
    let a = app.company(&r, "acme").await;
    let (_, t) = app.host(&r, a, "olga@acme.tld", "HOST").await;
    let (mary, _) = app.host(&r, a, "mary@acme.tld", "HOST").await;
    let created = app
        .ok(
            &api,
            &t,
            "conference/create",
            json!({
                "subject": "Quarterly review, part 1",
                "agenda": "1. Numbers\n2. Plans",
                "start": "2030-07-15 10:00:00",
                "time_zone": "Europe/London",
                "duration": 60,
                "one_time_access_code": true,
                "security_pin": "246810",
                "participants": [mary],
                "participant_emails": [
                    {"email": "bob@guest.tld", "moderator": true},
                    {"email": "alice@guest.tld", "moderator": false},
                    {"email": "Mary@acme.tld", "moderator": false}
                ]
            }),
        )
        .await;
    let id = created["conference_id"].as_i64().expect("id");
    let join_url = created["join_url"].as_str().expect("join_url").to_string();
    let bob_link = link_of(&created, "bob@guest.tld");

    // Everyone invited once (Mary is named twice but is one invitee); the organiser gets none.
    let mut uid = String::new();
    for (who, role, url) in [
        ("mary@acme.tld", "REQ-PARTICIPANT", join_url.as_str()),
        ("bob@guest.tld", "CHAIR", bob_link.as_str()),
        ("alice@guest.tld", "REQ-PARTICIPANT", join_url.as_str()),
    ] {
        let mail = wait_for_mails(&app, who, 1, 10).await.remove(0);
        assert!(
            header(&mail, "From").starts_with("\"Alpha Video\""),
            "{}",
            header(&mail, "From")
        );
        assert!(header(&mail, "Subject").starts_with("Invitation: Quarterly review, part 1"));
        assert!(!header(&mail, "Message-ID").is_empty());
        assert!(mail.data.contains("acme Inc"), "company name in the body");
        let inv = invite(&mail);
        assert_eq!(inv.method, "REQUEST", "{}", inv.raw);
        assert_eq!(inv.sequence, 0);
        assert_eq!(inv.status, "CONFIRMED");
        assert_eq!(inv.tzid, "Europe/London");
        assert_eq!(inv.dtstart, "20300715T100000");
        assert_eq!(inv.dtstart_utc, 1_910_336_400, "10:00 BST is 09:00 UTC");
        assert!(inv.raw.contains("BEGIN:VTIMEZONE"));
        assert!(
            inv.raw
                .contains("\r\nPRODID:-//Alpha Video//Meetings//EN\r\n"),
            "white-label"
        );
        assert_eq!(inv.url, url);
        assert_eq!(inv.location, url);
        assert_eq!(inv.organizer, "mailto:olga@acme.tld");
        let roles: Vec<(&str, &str)> = inv
            .attendees
            .iter()
            .map(|(e, r)| (e.as_str(), r.as_str()))
            .collect();
        assert_eq!(
            roles,
            [
                ("mary@acme.tld", "REQ-PARTICIPANT"),
                ("bob@guest.tld", "CHAIR"),
                ("alice@guest.tld", "REQ-PARTICIPANT")
            ]
        );
        assert!(roles.contains(&(who, role)));
        if uid.is_empty() {
            uid = inv.uid.clone();
        }
        assert_eq!(inv.uid, uid, "one UID for the event");
    }
    assert!(mails_to(&app, "olga@acme.tld").is_empty());
    assert!(
        rooms::moderator_for(&app.state.db, id, &token_of(&bob_link))
            .await
            .expect("check")
    );

    // Update: new time, Alice out, Carol in.
    let updated = app
        .ok(
            &api,
            &t,
            "conference/update",
            json!({
                "conference_id": id,
                "start": "2030-07-15 11:30:00",
                "participant_emails": [
                    {"email": "bob@guest.tld", "moderator": true},
                    {"email": "carol@guest.tld"}
                ]
            }),
        )
        .await;
    assert_eq!(updated["sequence"], 1);
    assert_eq!(
        updated["one_time_access_code"], created["one_time_access_code"],
        "the code stays"
    );
    assert_eq!(
        updated["participants"], created["participants"],
        "Mary stays as a host participant"
    );
    for (who, method, subject) in [
        ("mary@acme.tld", "REQUEST", "Updated invitation:"),
        ("bob@guest.tld", "REQUEST", "Updated invitation:"),
        ("alice@guest.tld", "CANCEL", "Cancelled:"),
    ] {
        let mail = wait_for_mails(&app, who, 2, 10).await.remove(1);
        assert!(
            header(&mail, "Subject").starts_with(subject),
            "{who}: {}",
            header(&mail, "Subject")
        );
        let inv = invite(&mail);
        assert_eq!(
            (inv.method.as_str(), inv.sequence, inv.uid.as_str()),
            (method, 1, uid.as_str()),
            "{who}"
        );
        assert_eq!(inv.dtstart, "20300715T113000");
    }
    let carol = wait_for_mails(&app, "carol@guest.tld", 1, 10)
        .await
        .remove(0);
    let inv = invite(&carol);
    assert_eq!(
        (inv.method.as_str(), inv.sequence, inv.uid.as_str()),
        ("REQUEST", 1, uid.as_str())
    );
    // Bob's link was renewed: the old token no longer works, the new one does.
    let new_bob_link = link_of(&updated, "bob@guest.tld");
    assert_eq!(
        invite(&mails_to(&app, "bob@guest.tld")[1]).url,
        new_bob_link
    );
    assert!(
        !rooms::moderator_for(&app.state.db, id, &token_of(&bob_link))
            .await
            .expect("check")
    );
    assert!(
        rooms::moderator_for(&app.state.db, id, &token_of(&new_bob_link))
            .await
            .expect("check")
    );

    // Delete: everyone still invited gets a cancellation; the reminders go.
    assert!(app.count("scheduled_jobs").await > 0);
    app.ok(&api, &t, "conference/delete", json!({"conference_id": id}))
        .await;
    for (who, count) in [
        ("mary@acme.tld", 3),
        ("bob@guest.tld", 3),
        ("carol@guest.tld", 2),
    ] {
        let mail = wait_for_mails(&app, who, count, 10).await.remove(count - 1);
        let inv = invite(&mail);
        assert_eq!(
            (inv.method.as_str(), inv.sequence, inv.uid.as_str()),
            ("CANCEL", 2, uid.as_str()),
            "{who}"
        );
        assert_eq!(inv.status, "CANCELLED");
    }
    assert_eq!(
        mails_to(&app, "alice@guest.tld").len(),
        2,
        "Alice was already removed"
    );
    assert_eq!(app.count("scheduled_jobs").await, 0);
    assert_eq!(app.count("conference_invitees").await, 0);
    let (status, _) = app
        .call(&api, &t, "conference/get", json!({"conference_id": id}))
        .await;
    assert_eq!(status.as_u16(), 404);
}

on_each_backend!(reminders_run_once_at_their_time_and_follow_changes);

/// The scheduler's clock is injected: jobs run only when `now` reaches them, once.
async fn reminders_run_once_at_their_time_and_follow_changes(app: TestApp) {
    let r = app.alpha.clone();
    let api = r.api_host.clone();
    let a = app.company(&r, "acme").await;
    let (_, t) = app.host(&r, a, "olga@acme.tld", "HOST").await;
    let create = |start: &str| {
        json!({
            "subject": "Stand-up", "start": start, "time_zone": "Asia/Kolkata", "duration": 15,
            "participant_emails": [{"email": "dev@guest.tld"}]
        })
    };
    // 2030-01-10 09:00 IST is 03:30 UTC; the default reminder is 15 minutes before.
    let starts_at: i64 = 1_894_246_200;
    let c = app
        .ok(&api, &t, "conference/create", create("2030-01-10 09:00:00"))
        .await;
    let id = c["conference_id"].as_i64().expect("id");
    wait_for_mails(&app, "dev@guest.tld", 1, 10).await;
    let state = &app.state;
    assert_eq!(
        reminders::run_due(state, starts_at - 16 * 60)
            .await
            .expect("run"),
        0
    );
    // Moving the conference one hour later moves the reminder with it.
    app.ok(
        &api,
        &t,
        "conference/update",
        json!({"conference_id": id, "start": "2030-01-10 10:00:00"}),
    )
    .await;
    wait_for_mails(&app, "dev@guest.tld", 2, 10).await;
    assert_eq!(
        reminders::run_due(state, starts_at - 15 * 60)
            .await
            .expect("run"),
        0
    );
    let later = starts_at + 3600;
    assert_eq!(
        reminders::run_due(state, later - 15 * 60)
            .await
            .expect("run"),
        2,
        "host and invitee"
    );
    assert_eq!(
        reminders::run_due(state, later - 10 * 60)
            .await
            .expect("run"),
        0,
        "not twice"
    );
    let reminder = wait_for_mails(&app, "dev@guest.tld", 3, 10).await.remove(2);
    assert!(header(&reminder, "Subject").starts_with("Reminder: Stand-up"));
    assert!(!reminder.data.contains("text/calendar"));
    wait_for_mails(&app, "olga@acme.tld", 1, 10).await;

    // A deleted conference keeps no reminder; a past one never had one.
    let gone = app
        .ok(&api, &t, "conference/create", create("2030-02-10 09:00:00"))
        .await;
    app.ok(
        &api,
        &t,
        "conference/delete",
        json!({"conference_id": gone["conference_id"]}),
    )
    .await;
    app.ok(&api, &t, "conference/create", create("2020-02-10 09:00:00"))
        .await;
    assert_eq!(
        reminders::run_due(state, starts_at + 400 * 86_400)
            .await
            .expect("run"),
        0
    );

    // A job that fails (its host's address no longer takes mail) is retried later with backoff
    // and holds up no other job.
    let (_, t2) = app.host(&r, a, "ivan@acme.tld", "HOST").await;
    let broken = app
        .ok(&api, &t, "conference/create", create("2031-06-10 09:00:00"))
        .await;
    app.ok(
        &api,
        &t2,
        "conference/create",
        create("2031-06-10 09:10:00"),
    )
    .await;
    sqlx::query("UPDATE hosts SET email = 'no address' WHERE email = 'olga@acme.tld'")
        .execute(&state.db.pool)
        .await
        .expect("break the address");
    let at: i64 = 1_938_828_300; // 2031-06-10 03:25 UTC: both reminders are due
    assert_eq!(
        reminders::run_due(state, at).await.expect("run"),
        2,
        "Ivan's and the invitee's"
    );
    let jobs = confab::store::scheduled_jobs::pending_of(
        &state.db,
        broken["conference_id"].as_i64().expect("id"),
    )
    .await
    .expect("jobs");
    assert_eq!(jobs.len(), 1, "the failed reminder waits for its retry");
    assert_eq!(jobs[0].attempts, 1);
    assert_eq!(jobs[0].run_at, at + 120);
    assert_eq!(
        reminders::run_due(state, at + 60).await.expect("run"),
        0,
        "not before its retry time"
    );
}

/// With a short offset and poll interval, the real scheduler task sends the reminder by itself.
async fn reminder_arrives_from_the_running_scheduler(backend: Backend) {
    let tweak = |c: &mut confab::config::Config| {
        c.reminder_offsets_secs = vec![60];
        c.scheduler_poll_secs = 1;
    };
    let app = match backend {
        Backend::Sqlite => TestApp::spawn_with(backend, tweak).await,
        Backend::Postgres => match TestApp::spawn_postgres_with(tweak).await {
            Some(app) => app,
            None => return,
        },
    };
    let r = app.alpha.clone();
    let a = app.company(&r, "acme").await;
    let (_, t) = app.host(&r, a, "olga@acme.tld", "HOST").await;
    // Starts in about 64 seconds: the reminder is due in about 4.
    let start = chrono::Utc::now() + chrono::Duration::seconds(64);
    app.ok(
        &r.api_host,
        &t,
        "conference/create",
        json!({
            "subject": "Soon", "start": start.format("%Y-%m-%d %H:%M:%S").to_string(),
            "time_zone": "UTC", "duration": 5, "participant_emails": [{"email": "dev@guest.tld"}]
        }),
    )
    .await;
    let mails = wait_for_mails(&app, "dev@guest.tld", 2, 30).await;
    assert!(header(&mails[1], "Subject").starts_with("Reminder: Soon"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(mails_to(&app, "dev@guest.tld").len(), 2, "sent once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminder_arrives_from_the_running_scheduler_sqlite() {
    reminder_arrives_from_the_running_scheduler(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminder_arrives_from_the_running_scheduler_postgres() {
    reminder_arrives_from_the_running_scheduler(Backend::Postgres).await;
}
