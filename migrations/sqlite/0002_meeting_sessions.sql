-- Meeting sessions: one row from the first join of a room to the last leave, with its occupants.
CREATE TABLE meeting_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reseller_id BIGINT NOT NULL REFERENCES resellers(id) ON DELETE CASCADE,
    company_id BIGINT NOT NULL,
    host_id BIGINT,
    conference_id BIGINT,
    access_code TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX meeting_sessions_room ON meeting_sessions(reseller_id, access_code, ended_at);
CREATE INDEX meeting_sessions_conference ON meeting_sessions(conference_id, ended_at);

CREATE TABLE meeting_participants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id BIGINT NOT NULL REFERENCES meeting_sessions(id) ON DELETE CASCADE,
    participant_key TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    host_id BIGINT,
    joined_at BIGINT NOT NULL,
    left_at BIGINT
);
CREATE INDEX meeting_participants_session ON meeting_participants(session_id);
