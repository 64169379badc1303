//! Four real Chromium participants stay in one meeting for 90 s without losing media: no ICE
//! disconnect on the server, no automatic reconnection of any page. Chromium gathers a host
//! candidate on every interface (loopback and the machine's own address here) and may
//! re-nominate from its second address; the SFU has to follow it.

use std::time::Duration;

use fantoccini::Client;
use serde_json::Value;

use crate::{
    browser::{browser, start_driver},
    helpers::{Backend, TestApp},
    meeting_page::{eval, wait_for},
};

const ROOM: &str = "1234567";
const PEOPLE: [&str; 4] = ["Ada", "Ben", "Cy", "Di"];
const HOLD: Duration = Duration::from_secs(90);

/// What a page knows of its connection: participant id, reconnections, remote videos decoding,
/// and how often Chromium changed its selected candidate pair.
const PAGE_STATE: &str = "(async () => {
    const m = window.meeting, pc = m && m.pc;
    let videos = 0, frames = 0, pairChanges = 0;
    if (pc) for (const r of (await pc.getStats()).values()) {
      if (r.type === 'inbound-rtp' && r.kind === 'video' && r.framesDecoded > 0) { videos += 1; frames += r.framesDecoded; }
      if (r.type === 'transport') pairChanges += r.selectedCandidatePairChanges || 0;
    }
    const stats = pc ? await pc.getStats() : new Map();
    const pairs = [];
    for (const r of stats.values()) if (r.type === 'candidate-pair') {
      const local = stats.get(r.localCandidateId), remote = stats.get(r.remoteCandidateId);
      pairs.push([local && local.address, r.state, r.nominated, r.requestsSent, r.responsesReceived, r.requestsReceived, r.bytesSent]);
    }
    return { me: m ? m.me : null, reconnections: m ? m.reconnections : null,
             state: pc ? pc.iceConnectionState : null, videos, frames, pairChanges, pairs };
  })()";

async fn page_state(client: &Client) -> Value {
    eval(client, &format!("done(await {PAGE_STATE});")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_browsers_keep_their_media_for_ninety_seconds() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.joe_room(ROOM, None).await;
    let origin = format!("http://joe.alpha.test:{}", app.addr.port());
    let mut pages = Vec::new();
    for name in PEOPLE {
        let client = browser(&driver, name, &origin).await;
        client
            .goto(&format!(
                "{origin}/conf/call/{ROOM}?name={name}&skip_join=1"
            ))
            .await
            .expect("open the meeting");
        pages.push((name, client));
    }
    let mut joined = Vec::new();
    for (name, client) in &pages {
        let seen = wait_for(
            client,
            &format!("{{ const s = await {PAGE_STATE}; return s.videos >= 3 ? s : null; }}"),
            30,
        )
        .await;
        assert!(seen.is_object(), "{name} sees {}", page_state(client).await);
        joined.push(seen);
    }

    tokio::time::sleep(HOLD).await;

    let sfu = &app.state.media.as_ref().expect("media").sfu;
    let stats = sfu.stats().await.expect("stats");
    let mut after = Vec::new();
    for (_, client) in &pages {
        after.push(page_state(client).await);
    }
    for (_, client) in pages {
        let _ = client.close().await;
    }
    eprintln!(
        "four browsers, {HOLD:?}: SFU {} renominations, {} ICE disconnects; pages {after:?}",
        stats.ice_renominations, stats.ice_disconnects
    );
    for ((name, before), now) in PEOPLE.iter().zip(&joined).zip(&after) {
        assert_eq!(
            now["me"], before["me"],
            "{name} kept its participant: {now}"
        );
        assert_eq!(now["reconnections"], 0, "{name} never reconnected: {now}");
        assert!(
            now["videos"].as_u64().unwrap_or(0) >= 3
                && now["frames"].as_u64() > before["frames"].as_u64(),
            "{name} still decodes three videos: {before} → {now}"
        );
    }
    assert_eq!(stats.ice_disconnects, 0, "{stats:?}");
    assert_eq!(stats.ice_failures, 0, "{stats:?}");
    assert_eq!(stats.peers, 4, "{stats:?}");
}
