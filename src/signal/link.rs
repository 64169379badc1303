//! The WebSocket of one connection, with every write bounded in time: a client whose socket
//! stops taking data (it stopped reading, its network died without a reset) is treated as a
//! lost connection instead of holding its session, and everything queued for it, forever.

use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};

use super::messages::ServerMessage;

/// A signalling WebSocket with timed writes.
pub struct Link {
    socket: WebSocket,
    /// Longest one write may take (`signal_write_timeout_secs`).
    write_timeout: Duration,
    /// Why writing failed (`left` for an error, `connection_lost` for a timeout); nothing more is
    /// written once set.
    lost: Option<&'static str>,
}

impl Link {
    /// Wraps an upgraded socket whose writes may take up to `write_timeout` each.
    pub fn new(socket: WebSocket, write_timeout: Duration) -> Self {
        Self {
            socket,
            write_timeout,
            lost: None,
        }
    }

    /// The next frame from the client.
    pub async fn recv(&mut self) -> Option<Result<Message, axum::Error>> {
        self.socket.recv().await
    }

    /// Sends a message; false when it could not be written (see [`Link::lost`]).
    pub async fn send(&mut self, message: &ServerMessage) -> bool {
        match serde_json::to_string(message) {
            Ok(text) => self.write(Message::Text(Utf8Bytes::from(text))).await,
            Err(_) => false,
        }
    }

    /// Sends a WebSocket ping frame.
    pub async fn ping(&mut self) -> bool {
        self.write(Message::Ping(Default::default())).await
    }

    /// Why the connection can no longer be written to, if it cannot.
    pub fn lost(&self) -> Option<&'static str> {
        self.lost
    }

    /// Sends a close frame, unless the connection is already lost.
    pub async fn close(mut self) {
        self.write(Message::Close(None)).await;
    }

    async fn write(&mut self, frame: Message) -> bool {
        if self.lost.is_some() {
            return false;
        }
        match tokio::time::timeout(self.write_timeout, self.socket.send(frame)).await {
            Ok(Ok(())) => true,
            Ok(Err(_)) => {
                self.lost = Some("left");
                false
            }
            Err(_) => {
                self.lost = Some("connection_lost");
                false
            }
        }
    }
}
