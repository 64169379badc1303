-- Secrets of the server itself (e.g. the key that signs form tokens), made once at the first start
-- and shared by every process on the database, so a form served by one process or before a
-- restart is still accepted.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
