-- Custom domains: a company's own hostnames beside its subdomain. A custom domain is pending
-- (verified_at NULL) until the server fetched its verification token over HTTP from that hostname;
-- only verified rows resolve requests. The token is stored as is: it is served publicly anyway.
ALTER TABLE domains ADD COLUMN is_custom BIGINT NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN verification_token TEXT;
ALTER TABLE domains ADD COLUMN verified_at BIGINT;
UPDATE domains SET verified_at = created_at;
