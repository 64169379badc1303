//! The same bots in a Janus videoroom. Janus gives a publisher one peer connection to send and
//! a separate subscriber handle (one multistream connection) to receive the other feeds; a
//! subscriber or viewer has only the receiving one. Both are the same [`peer`] code as in the
//! Confab run.

use std::time::Instant;

use anyhow::Context;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};

use super::{
    bot::BotReport,
    janus_api::JanusSession,
    peer::{self, Description, PeerReport, Role, SharedWindow},
};

/// How a Janus bot behaves.
#[derive(Debug)]
pub struct JanusBotPlan {
    pub ws_url: String,
    /// The address Janus gathers its candidates on; the bot binds there too.
    pub media_ip: std::net::IpAddr,
    pub room: u64,
    pub name: String,
    /// Packets per second to publish; `None` receives only.
    pub publish_pps: Option<u32>,
    pub payload_bytes: usize,
    pub window: SharedWindow,
    /// A publisher tells its feed id here once it publishes.
    pub published: Option<oneshot::Sender<u64>>,
    /// The room's feeds, in join order, once every publisher has published.
    pub feeds: watch::Receiver<Option<Vec<u64>>>,
}

/// Creates a room sized for the benchmark.
pub async fn create_room(
    session: &JanusSession,
    room: u64,
    publishers: u32,
    kbps: u32,
) -> anyhow::Result<()> {
    let handle = session.attach_videoroom().await?;
    session
        .message(
            handle,
            json!({
                "request": "create", "room": room, "publishers": publishers.max(1),
                "bitrate": u64::from(kbps) * 1000 * 2, "videocodec": "vp8",
                "audiocodec": "opus", "notify_joining": false,
            }),
            None,
        )
        .await?;
    Ok(())
}

/// Signalling for one peer connection: its descriptions go out with `body`, answers come back.
struct PeerSignals {
    from_peer: mpsc::UnboundedReceiver<Description>,
    to_peer: mpsc::UnboundedSender<Description>,
    connected: oneshot::Receiver<()>,
    task: tokio::task::JoinHandle<anyhow::Result<PeerReport>>,
}

fn spawn_peer(plan: &JanusBotPlan, role: Role) -> PeerSignals {
    let (to_server, from_peer) = mpsc::unbounded_channel();
    let (to_peer, from_server) = mpsc::unbounded_channel();
    let (connected_tx, connected) = oneshot::channel();
    let task = tokio::spawn(peer::run(
        plan.name.clone(),
        plan.media_ip,
        role,
        plan.payload_bytes,
        plan.window.clone(),
        peer::Signals {
            outgoing: to_server,
            incoming: from_server,
            connected: Some(connected_tx),
        },
    ));
    PeerSignals {
        from_peer,
        to_peer,
        connected,
        task,
    }
}

fn jsep_sdp(reply: &Value) -> anyhow::Result<String> {
    reply["jsep"]["sdp"]
        .as_str()
        .map(str::to_string)
        .context("no JSEP in Janus's reply")
}

/// Publishes: join as publisher, offer, take the answer. Returns the peer and the feed id.
async fn publish(
    session: &JanusSession,
    plan: &JanusBotPlan,
    pps: u32,
) -> anyhow::Result<(PeerSignals, u64)> {
    let handle = session.attach_videoroom().await?;
    let joined = session
        .message(
            handle,
            json!({"request": "join", "ptype": "publisher", "room": plan.room, "display": plan.name}),
            None,
        )
        .await?;
    let feed = joined["plugindata"]["data"]["id"]
        .as_u64()
        .context("no feed id")?;
    let mut peer = spawn_peer(plan, Role::Publish { pps });
    let Some(Description::Offer(offer)) = peer.from_peer.recv().await else {
        anyhow::bail!("publisher peer made no offer");
    };
    let configured = session
        .message(
            handle,
            json!({"request": "configure", "audio": false, "video": true}),
            Some(json!({"type": "offer", "sdp": offer})),
        )
        .await?;
    let _ = peer
        .to_peer
        .send(Description::Answer(jsep_sdp(&configured)?));
    // Janus lets subscribers take a feed only once its media is up.
    (&mut peer.connected)
        .await
        .map_err(|_| anyhow::anyhow!("publisher connection ended before it was up"))?;
    Ok((peer, feed))
}

/// Subscribes to `feeds` on a new handle: Janus offers, the peer answers, `start`.
async fn subscribe(
    session: &JanusSession,
    plan: &JanusBotPlan,
    feeds: &[u64],
) -> anyhow::Result<PeerSignals> {
    let handle = session.attach_videoroom().await?;
    let streams: Vec<Value> = feeds.iter().map(|f| json!({"feed": f})).collect();
    let join =
        json!({"request": "join", "ptype": "subscriber", "room": plan.room, "streams": streams});
    // A feed whose connection has only just come up on our side may not be up on Janus's yet.
    let mut attempts = 0;
    let attached = loop {
        match session.message(handle, join.clone(), None).await {
            Err(err) if attempts < 50 && err.to_string().contains("No such feed") => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => break other?,
        }
    };
    let mut peer = spawn_peer(plan, Role::AnswerToReceive);
    let _ = peer.to_peer.send(Description::Offer(jsep_sdp(&attached)?));
    let Some(Description::Answer(answer)) = peer.from_peer.recv().await else {
        anyhow::bail!("subscriber peer made no answer");
    };
    session
        .message(
            handle,
            json!({"request": "start"}),
            Some(json!({"type": "answer", "sdp": answer})),
        )
        .await?;
    Ok(peer)
}

/// Runs one bot until the end of the window.
pub async fn run(mut plan: JanusBotPlan) -> anyhow::Result<BotReport> {
    let started = Instant::now();
    let session = JanusSession::connect(&plan.ws_url).await?;
    let mut peers = Vec::new();
    let mut own_feed = None;
    if let Some(pps) = plan.publish_pps {
        let (peer, feed) = publish(&session, &plan, pps).await?;
        own_feed = Some(feed);
        if let Some(published) = plan.published.take() {
            let _ = published.send(feed);
        }
        peers.push(peer);
    }
    let feeds = plan
        .feeds
        .wait_for(Option::is_some)
        .await
        .map_err(|_| anyhow::anyhow!("the room's publishers never all published"))?
        .clone()
        .unwrap_or_default();
    // Subscribers and live stream viewers alike receive every other publisher, as in Confab
    // (a Janus subscriber is already invisible to the room).
    let wanted: Vec<u64> = feeds.into_iter().filter(|f| Some(*f) != own_feed).collect();
    if !wanted.is_empty() {
        peers.push(subscribe(&session, &plan, &wanted).await?);
    }
    let mut reports = Vec::new();
    for peer in peers {
        // Keep the channels open until the peer ends with the window.
        let PeerSignals { task, to_peer, .. } = peer;
        reports.push(task.await??);
        drop(to_peer);
    }
    session.destroy().await;
    let join_time = reports
        .iter()
        .filter_map(|r| r.connected_at)
        .min()
        .map(|at| at.duration_since(started));
    Ok(BotReport {
        join_time,
        peers: reports,
    })
}
