//! A minimal client of the Janus WebSocket API (subprotocol `janus-protocol`): one session per
//! connection, requests matched to their replies by transaction, keepalives in the background.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>;

/// One Janus session over its own WebSocket.
pub struct JanusSession {
    out: mpsc::UnboundedSender<Message>,
    waiters: Waiters,
    pub session_id: u64,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// How long a request may wait for its reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

impl JanusSession {
    /// Connects and creates a session.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let mut request = url.into_client_request()?;
        request
            .headers_mut()
            .insert("sec-websocket-protocol", "janus-protocol".parse()?);
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .context("Janus WebSocket")?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut outbox) = mpsc::unbounded_channel::<Message>();
        let waiters: Waiters = Arc::default();
        let writer = tokio::spawn(async move {
            while let Some(message) = outbox.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        });
        let routes = waiters.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                // An `ack` only says an asynchronous request was queued; its event follows
                // with the same transaction.
                if value["janus"] == "ack" {
                    continue;
                }
                let Some(transaction) = value["transaction"].as_str() else {
                    continue;
                };
                let waiter = routes.lock().ok().and_then(|mut w| w.remove(transaction));
                if let Some(waiter) = waiter {
                    let _ = waiter.send(value);
                }
            }
        });
        let mut session = JanusSession {
            out,
            waiters,
            session_id: 0,
            tasks: vec![writer, reader],
        };
        let created = session.call(json!({"janus": "create"})).await?;
        session.session_id = created["data"]["id"]
            .as_u64()
            .context("no session id in Janus's reply")?;
        // Janus drops a session silent for `session_timeout` (60 s).
        let keepalive_out = session.out.clone();
        let session_id = session.session_id;
        session.tasks.push(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(25)).await;
                let ping = json!({"janus": "keepalive", "session_id": session_id,
                    "transaction": format!("k{}", rand::random::<u64>())});
                if keepalive_out
                    .send(Message::Text(ping.to_string().into()))
                    .is_err()
                {
                    break;
                }
            }
        }));
        Ok(session)
    }

    /// Sends one request and waits for its reply (`success`, `error`, or the plugin's event).
    pub async fn call(&self, mut request: Value) -> anyhow::Result<Value> {
        let transaction = format!("t{}", rand::random::<u64>());
        request["transaction"] = json!(transaction);
        if self.session_id != 0 {
            request["session_id"] = json!(self.session_id);
        }
        let (tx, rx) = oneshot::channel();
        self.waiters
            .lock()
            .map_err(|_| anyhow::anyhow!("waiters poisoned"))?
            .insert(transaction, tx);
        self.out
            .send(Message::Text(request.to_string().into()))
            .map_err(|_| anyhow::anyhow!("Janus connection closed"))?;
        let reply = tokio::time::timeout(REPLY_TIMEOUT, rx)
            .await
            .context("no reply from Janus")?
            .context("Janus connection closed")?;
        if reply["janus"] == "error" {
            anyhow::bail!("Janus error: {}", reply["error"]);
        }
        let data = &reply["plugindata"]["data"];
        if data.get("error_code").is_some() {
            anyhow::bail!("videoroom error: {}", data["error"]);
        }
        Ok(reply)
    }

    /// Attaches a videoroom handle.
    pub async fn attach_videoroom(&self) -> anyhow::Result<u64> {
        let reply = self
            .call(json!({"janus": "attach", "plugin": "janus.plugin.videoroom"}))
            .await?;
        reply["data"]["id"].as_u64().context("no handle id")
    }

    /// A message to a handle's plugin, with an optional JSEP description.
    pub async fn message(
        &self,
        handle: u64,
        body: Value,
        jsep: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = json!({"janus": "message", "handle_id": handle, "body": body});
        if let Some(jsep) = jsep {
            request["jsep"] = jsep;
        }
        self.call(request).await
    }

    /// Destroys the session; the connection closes when this value is dropped.
    pub async fn destroy(&self) {
        let _ = self.call(json!({"janus": "destroy"})).await;
    }
}

impl Drop for JanusSession {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
