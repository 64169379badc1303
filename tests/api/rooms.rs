//! What the meeting room and the host's pages learn about conferences: the one-time code, moderator
//! tokens, `active` from meeting sessions, and the upcoming list.

use serde_json::{Value, json};
use sqlx::Row;

use crate::{helpers::TestApp, on_each_backend};

on_each_backend!(active_while_a_session_runs_and_the_room_knows_the_code);

async fn active_while_a_session_runs_and_the_room_knows_the_code(app: TestApp) {
    use confab::scheduling::rooms;
    let r = app.alpha.clone();
    let a = app.company(&r, "a").await;
    let (h, t) = app.host(&r, a, "h@a.tld", "HOST").await;
    let c = app
        .ok(&r.api_host, &t, "conference/create", json!({
            "subject": "Room", "start": "2030-05-01 09:00:00", "time_zone": "America/New_York",
            "duration": 90, "one_time_access_code": true, "security_pin": 432198, "mute_mode": "lecture",
            "auto_record": "cloud", "participant_emails": [{"email": "mod@x.tld", "moderator": true}, {"email": "guest@x.tld"}]
        }))
        .await;
    let id = c["conference_id"].as_i64().expect("id");
    let code = c["one_time_access_code"]
        .as_u64()
        .expect("code")
        .to_string();
    let db = &app.state.db;
    let reseller_id: i64 = sqlx::query("SELECT id FROM resellers WHERE domain = 'alpha.test'")
        .fetch_one(&db.pool)
        .await
        .expect("reseller")
        .try_get("id")
        .expect("id");

    // The meeting room's view of the one-time code: 09:00 EDT is 13:00 UTC.
    let starts_at = 1_903_870_800;
    let room = rooms::find_by_access_code(db, reseller_id, &code)
        .await
        .expect("lookup")
        .expect("the code opens the conference");
    assert_eq!(
        room,
        rooms::ConferenceRoom {
            conference_id: id,
            host_id: h,
            company_id: a,
            subject: "Room".into(),
            security_pin: Some("432198".into()),
            mute_mode: "lecture".into(),
            auto_record: "cloud".into(),
            valid_from: starts_at - app.state.config.conference_join_early_secs,
            valid_until: starts_at + 90 * 60,
        }
    );
    assert!(
        rooms::find_by_access_code(db, reseller_id + 1, &code)
            .await
            .expect("lookup")
            .is_none()
    );
    // Moderator links carry tokens that only the conference accepts.
    let token_of = |url: &str| url.split("?mod=").nth(1).expect("token").to_string();
    let mod_token = token_of(
        c["moderator_join_urls"][0]["join_url"]
            .as_str()
            .expect("link"),
    );
    let host_token = token_of(c["moderator_join_url"].as_str().expect("link"));
    assert!(
        rooms::moderator_for(db, id, &mod_token)
            .await
            .expect("check")
    );
    assert!(
        rooms::moderator_for(db, id, &host_token)
            .await
            .expect("check")
    );
    assert!(
        !rooms::moderator_for(db, id, "guessed")
            .await
            .expect("check")
    );
    assert!(!rooms::moderator_for(db, id, "").await.expect("check"));
    assert!(
        !rooms::moderator_for(db, id + 1, &mod_token)
            .await
            .expect("check")
    );
    // Rooms that only know the token (a conference in the personal room) find its conference.
    for t in [&mod_token, &host_token] {
        let found = rooms::conference_of_moderator_token(db, reseller_id, t)
            .await
            .expect("lookup");
        assert_eq!(found, Some(id));
        let other = rooms::conference_of_moderator_token(db, reseller_id + 1, t)
            .await
            .expect("lookup");
        assert_eq!(other, None, "tokens do not cross resellers");
    }
    assert_eq!(
        rooms::conference_of_moderator_token(db, reseller_id, "guessed")
            .await
            .expect("lookup"),
        None
    );

    // `active` follows the meeting sessions the SFU writes.
    let active = |v: &Value| v["active"].as_bool().expect("active");
    let get = json!({"conference_id": id});
    assert!(!active(
        &app.ok(&r.api_host, &t, "conference/get", get.clone()).await
    ));
    sqlx::query(
        "INSERT INTO meeting_sessions (reseller_id, company_id, host_id, conference_id, access_code, started_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(reseller_id)
    .bind(a)
    .bind(h)
    .bind(id)
    .bind(&code)
    .bind(confab::store::now())
    .execute(&db.pool)
    .await
    .expect("session");
    assert!(active(
        &app.ok(&r.api_host, &t, "conference/get", get.clone()).await
    ));
    let listed = app.ok(&r.api_host, &t, "conference/list", json!({})).await;
    assert!(active(&listed["conferences"][0]));
    sqlx::query("UPDATE meeting_sessions SET ended_at = $1 WHERE conference_id = $2")
        .bind(confab::store::now())
        .bind(id)
        .execute(&db.pool)
        .await
        .expect("end session");
    assert!(!active(
        &app.ok(&r.api_host, &t, "conference/get", get).await
    ));

    // The host's upcoming page lists it with its local time and room.
    let upcoming =
        confab::scheduling::upcoming_for_host(db, reseller_id, h, confab::store::now(), 10)
            .await
            .expect("upcoming");
    assert_eq!(upcoming.len(), 1);
    assert_eq!(upcoming[0].start_local, "2030-05-01 09:00:00");
    assert_eq!(upcoming[0].end_local, "2030-05-01 10:30:00");
    assert_eq!(upcoming[0].join_path, format!("/conf/call/{code}"));
}
