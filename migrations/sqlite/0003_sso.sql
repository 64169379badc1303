-- Host sign-in in the browser: sessions bound to a company domain, single-use signed login tokens,
-- per-company signing secrets, embed origins and OpenID Connect settings.
ALTER TABLE companies ADD COLUMN embed_origins TEXT NOT NULL DEFAULT '[]';

CREATE TABLE browser_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    host_id BIGINT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    reseller_id BIGINT NOT NULL,
    company_id BIGINT NOT NULL,
    hostname TEXT NOT NULL,
    after_call_url TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX browser_sessions_host ON browser_sessions(host_id);
CREATE INDEX browser_sessions_expiry ON browser_sessions(expires_at);

-- Secrets that sign a company's short-lived login tokens (HMAC needs the secret itself).
CREATE TABLE sso_signing_secrets (
    company_id BIGINT PRIMARY KEY REFERENCES companies(id) ON DELETE CASCADE,
    reseller_id BIGINT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- `jti` of login tokens already spent, kept until the token would have expired anyway.
CREATE TABLE sso_used_tokens (
    company_id BIGINT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (company_id, jti)
);
CREATE INDEX sso_used_tokens_expiry ON sso_used_tokens(expires_at);

CREATE TABLE company_oidc (
    company_id BIGINT PRIMARY KEY REFERENCES companies(id) ON DELETE CASCADE,
    reseller_id BIGINT NOT NULL,
    issuer_url TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    provider_name TEXT NOT NULL,
    allowed_email_domain TEXT,
    match_email BIGINT NOT NULL DEFAULT 0,
    provision_hosts BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

-- OpenID Connect logins between the redirect to the provider and the callback.
CREATE TABLE oidc_pending_logins (
    state_hash TEXT PRIMARY KEY,
    company_id BIGINT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next_path TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_pending_logins_expiry ON oidc_pending_logins(expires_at);
