-- Scheduled conferences, their invitees, and durable jobs (reminders) polled by the scheduler.
-- Times: starts_at / ends_at are UTC Unix seconds; start_local + time_zone keep what the caller said.
CREATE TABLE conferences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reseller_id BIGINT NOT NULL REFERENCES resellers(id) ON DELETE CASCADE,
    company_id BIGINT NOT NULL,
    host_id BIGINT NOT NULL,
    ical_uid TEXT NOT NULL UNIQUE,
    sequence BIGINT NOT NULL DEFAULT 0,
    subject TEXT NOT NULL,
    agenda TEXT NOT NULL,
    start_local TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    duration BIGINT NOT NULL,
    starts_at BIGINT NOT NULL,
    -- When the one-time URL starts to work: starts_at less the early-join time configured at saving.
    opens_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    auto_record TEXT NOT NULL,
    auto_transcribe BIGINT NOT NULL,
    access_code TEXT,
    security_pin TEXT,
    mute_mode TEXT NOT NULL,
    host_token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- One-time codes share the namespace of hosts.access_code; NULL (personal room) may repeat.
CREATE UNIQUE INDEX conferences_access_code ON conferences(reseller_id, access_code);
CREATE INDEX conferences_host ON conferences(host_id, starts_at);
CREATE INDEX conferences_company ON conferences(company_id, starts_at);
CREATE INDEX conferences_host_token ON conferences(host_token_hash);

CREATE TABLE conference_invitees (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conference_id BIGINT NOT NULL REFERENCES conferences(id) ON DELETE CASCADE,
    host_id BIGINT,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    moderator BIGINT NOT NULL,
    moderator_token_hash TEXT,
    UNIQUE (conference_id, email)
);
CREATE INDEX conference_invitees_token ON conference_invitees(moderator_token_hash);

CREATE TABLE scheduled_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    reseller_id BIGINT NOT NULL REFERENCES resellers(id) ON DELETE CASCADE,
    conference_id BIGINT,
    run_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    -- Set when the job ran, or was given up after repeated failures (last_error says why).
    done_at BIGINT
);
CREATE INDEX scheduled_jobs_due ON scheduled_jobs(done_at, run_at);
CREATE INDEX scheduled_jobs_conference ON scheduled_jobs(conference_id);
