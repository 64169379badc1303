-- Automatic certificates (ACME) for verified custom domains. Kept in the database rather than in
-- files so every server on a shared database serves the same certificates and answers the same
-- HTTP-01 challenges, whichever of them the CA reaches.
CREATE TABLE acme_accounts (
    directory_url TEXT PRIMARY KEY,
    credentials TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- One row per hostname: its current certificate (once issued) and the state of its next attempt.
-- `lease_until` lets one server at a time order a certificate for a hostname.
CREATE TABLE acme_certificates (
    hostname TEXT PRIMARY KEY,
    cert_pem TEXT,
    key_pem TEXT,
    not_before BIGINT,
    not_after BIGINT,
    issued_at BIGINT,
    last_error TEXT,
    failures BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

-- HTTP-01 answers while an order is open; the key authorization is public by design.
CREATE TABLE acme_challenges (
    token TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    key_authorization TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
