-- Tenancy, hosts, credentials and the durable mail outbox.
-- Timestamps are Unix seconds (BIGINT) so the same queries run on SQLite and PostgreSQL.
CREATE TABLE resellers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    domain TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE companies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reseller_id BIGINT NOT NULL REFERENCES resellers(id) ON DELETE CASCADE,
    subdomain TEXT NOT NULL,
    name TEXT NOT NULL,
    openid_provider BIGINT NOT NULL DEFAULT 0,
    primary_dialin_number TEXT,
    is_admin_company BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (reseller_id, subdomain)
);

CREATE TABLE domains (
    hostname TEXT PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    is_primary BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX domains_company ON domains(company_id);

CREATE TABLE hosts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reseller_id BIGINT NOT NULL REFERENCES resellers(id) ON DELETE CASCADE,
    company_id BIGINT NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT,
    role TEXT NOT NULL,
    openid_sub TEXT,
    access_code TEXT NOT NULL,
    moderator_pin TEXT NOT NULL,
    login_token_hash TEXT,
    subscription_ids TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (reseller_id, email),
    UNIQUE (reseller_id, access_code)
);
CREATE INDEX hosts_company ON hosts(company_id);

CREATE TABLE api_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    host_id BIGINT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    reseller_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX api_sessions_host ON api_sessions(host_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    host_id BIGINT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    reseller_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    token_prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_tokens_host ON api_tokens(host_id);

CREATE TABLE password_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    host_id BIGINT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_links_host ON password_links(host_id);

CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    envelope_from TEXT NOT NULL,
    envelope_to TEXT NOT NULL,
    raw_message BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    sent_at BIGINT,
    last_error TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox(sent_at, next_attempt_at);
