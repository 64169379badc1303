//! A connection's outgoing queue as the hub sees it. The queue is bounded, so a client that stops
//! reading costs a fixed amount of memory; its farewell (`removed`, `ended`, or "you did not keep
//! up") travels apart from the queue, so telling a connection to go never waits behind it.

use tokio::sync::{
    mpsc::{self, error::TrySendError},
    oneshot,
};

use super::messages::ServerMessage;

/// Messages that may wait for one connection's socket. A client that lets this many pile up is
/// not keeping up (or not reading at all) and is disconnected as a lost connection.
pub const OUTGOING_QUEUE: usize = 1024;

/// Why a connection is told to go.
#[derive(Debug)]
pub enum Farewell {
    /// Send this last message (`removed`, `ended`), then close.
    Close(ServerMessage),
    /// The client let its queue fill up: close at once, as a lost connection.
    Overflowed,
}

/// The hub's end of a connection: queue messages, or tell the connection to go.
#[derive(Debug)]
pub struct Mailbox {
    messages: mpsc::Sender<ServerMessage>,
    /// `None` once the connection has been told to go.
    farewell: Option<oneshot::Sender<Farewell>>,
}

/// The session's end of a connection.
#[derive(Debug)]
pub struct Inbox {
    pub messages: mpsc::Receiver<ServerMessage>,
    pub farewell: oneshot::Receiver<Farewell>,
}

/// A new, empty mailbox and the inbox it delivers to.
pub fn channel() -> (Mailbox, Inbox) {
    let (messages, messages_rx) = mpsc::channel(OUTGOING_QUEUE);
    let (farewell, farewell_rx) = oneshot::channel();
    let mailbox = Mailbox {
        messages,
        farewell: Some(farewell),
    };
    let inbox = Inbox {
        messages: messages_rx,
        farewell: farewell_rx,
    };
    (mailbox, inbox)
}

impl Mailbox {
    /// Queues a message without waiting. When the queue is full the connection is told to go
    /// (`Overflowed`) and this and later messages are dropped; returns whether it was queued.
    pub fn post(&mut self, message: ServerMessage) -> bool {
        if self.farewell.is_none() {
            return false;
        }
        match self.messages.try_send(message) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.dismiss(Farewell::Overflowed);
                false
            }
            // The session has ended; its own leave is on the way.
            Err(TrySendError::Closed(_)) => false,
        }
    }

    /// Tells the connection to go; only the first farewell counts.
    pub fn dismiss(&mut self, farewell: Farewell) {
        if let Some(tx) = self.farewell.take() {
            let _ = tx.send(farewell);
        }
    }

    /// Whether the connection is still served (it has not been told to go).
    pub fn is_open(&self) -> bool {
        self.farewell.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_dismisses_the_connection_once() {
        let (mut mailbox, mut inbox) = channel();
        for _ in 0..OUTGOING_QUEUE {
            assert!(mailbox.post(ServerMessage::Pong {}));
        }
        assert!(mailbox.is_open());
        assert!(!mailbox.post(ServerMessage::Pong {}));
        assert!(!mailbox.is_open());
        mailbox.dismiss(Farewell::Close(ServerMessage::Ended {}));
        assert!(matches!(
            inbox.farewell.try_recv(),
            Ok(Farewell::Overflowed)
        ));
        // Draining afterwards does not reopen it.
        while inbox.messages.try_recv().is_ok() {}
        assert!(!mailbox.post(ServerMessage::Pong {}));
    }

    #[test]
    fn a_farewell_does_not_wait_behind_a_full_queue() {
        let (mut mailbox, mut inbox) = channel();
        for _ in 0..OUTGOING_QUEUE {
            mailbox.post(ServerMessage::Pong {});
        }
        mailbox.dismiss(Farewell::Close(ServerMessage::Ended {}));
        assert!(matches!(
            inbox.farewell.try_recv(),
            Ok(Farewell::Close(ServerMessage::Ended {}))
        ));
    }
}
