//! A load-generating participant of a Confab room: it joins through the signalling WebSocket
//! and carries its media on one [`peer`] connection, which publishes and receives the others.

use std::{net::SocketAddr, time::Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use super::peer::{self, Description, PeerReport, Role, SharedWindow};

/// How a Confab bot behaves.
#[derive(Debug, Clone)]
pub struct BotPlan {
    pub server: SocketAddr,
    pub host: String,
    pub code: String,
    pub name: String,
    /// Packets per second to publish; `None` receives only.
    pub publish_pps: Option<u32>,
    /// Joins as a hidden live stream viewer.
    pub viewer: bool,
    pub payload_bytes: usize,
    /// Where the bot's media socket binds.
    pub media_ip: std::net::IpAddr,
    pub window: SharedWindow,
}

/// What one bot measured, whatever server it joined.
#[derive(Debug, Default, Clone)]
pub struct BotReport {
    /// From opening the WebSocket to the bot's first media connection being up.
    pub join_time: Option<std::time::Duration>,
    /// One report per peer connection the bot had.
    pub peers: Vec<PeerReport>,
}

/// Runs one bot until the end of the window.
pub async fn run(plan: BotPlan) -> anyhow::Result<BotReport> {
    let started = Instant::now();
    let mut request =
        format!("ws://{}/conf/call/{}/ws", plan.server, plan.code).into_client_request()?;
    request.headers_mut().insert("host", plan.host.parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .context("signalling connection")?;
    let join = match plan.viewer {
        true => json!({"type": "join", "role": "viewer"}),
        false => json!({"type": "join", "name": plan.name}),
    };
    ws.send(Message::Text(join.to_string().into())).await?;

    let role = match plan.publish_pps {
        Some(pps) => Role::Publish { pps },
        None => Role::OfferToReceive,
    };
    let (to_server, mut from_peer) = mpsc::unbounded_channel();
    let (to_peer, from_server) = mpsc::unbounded_channel();
    let media = tokio::spawn(peer::run(
        plan.name.clone(),
        plan.media_ip,
        role,
        plan.payload_bytes,
        plan.window.clone(),
        peer::Signals {
            outgoing: to_server,
            incoming: from_server,
            connected: None,
        },
    ));
    // The first offer waits for `joined`; later descriptions go out as they come.
    let mut joined = false;
    let mut held: Vec<Description> = Vec::new();
    let send = |d: &Description| {
        let (kind, sdp) = match d {
            Description::Offer(sdp) => ("offer", sdp),
            Description::Answer(sdp) => ("answer", sdp),
        };
        Message::Text(json!({"type": kind, "sdp": sdp}).to_string().into())
    };
    loop {
        tokio::select! {
            description = from_peer.recv() => {
                let Some(description) = description else { break };
                match joined {
                    true => ws.send(send(&description)).await?,
                    false => held.push(description),
                }
            }
            message = ws.next() => {
                let Some(message) = message else { anyhow::bail!("signalling closed") };
                let Ok(Message::Text(text)) = message else { continue };
                let value: Value = serde_json::from_str(text.as_str())?;
                let sdp = || value["sdp"].as_str().unwrap_or_default().to_string();
                match value["type"].as_str() {
                    Some("joined") if !joined => {
                        joined = true;
                        for description in held.drain(..) {
                            ws.send(send(&description)).await?;
                        }
                    }
                    Some("answer") => { let _ = to_peer.send(Description::Answer(sdp())); }
                    Some("offer") => { let _ = to_peer.send(Description::Offer(sdp())); }
                    Some("error") => anyhow::bail!("server error: {}", value["message"]),
                    _ => {}
                }
            }
        }
    }
    // The peer dropped its sender: the window is over (or the peer failed).
    let media = media.await??;
    let _ = ws
        .send(Message::Text(json!({"type": "leave"}).to_string().into()))
        .await;
    Ok(BotReport {
        join_time: media.connected_at.map(|at| at.duration_since(started)),
        peers: vec![media],
    })
}
