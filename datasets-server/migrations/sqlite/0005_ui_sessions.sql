-- Web UI sessions: a random id in an HttpOnly cookie, stored here only as
-- its SHA-256, with the key that signed in and the CSRF token of its forms.
-- A session works on every replica and after a restart; it ends at
-- `expires_us`, at sign-out, or when its key is revoked (the lookup joins
-- the key and refuses a revoked one).
CREATE TABLE ui_sessions (
    id_hash     BLOB PRIMARY KEY,
    key_id      TEXT NOT NULL REFERENCES api_keys(id),
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    -- Unix microseconds.
    expires_us  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX ui_sessions_by_expiry ON ui_sessions (expires_us);
