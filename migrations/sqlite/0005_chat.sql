-- Chat messages of meeting sessions, kept for a later history API.
CREATE TABLE chat_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id BIGINT NOT NULL REFERENCES meeting_sessions(id) ON DELETE CASCADE,
    participant_key TEXT NOT NULL,
    name TEXT NOT NULL,
    text TEXT NOT NULL,
    sent_at BIGINT NOT NULL
);
CREATE INDEX chat_messages_session ON chat_messages(session_id, id);
