-- Web UI sessions: a random id in an HttpOnly cookie, stored here only as
-- its SHA-256, with the key that signed in and the CSRF token of its forms.
-- A session works on every replica and after a restart; it ends at
-- `expires_at`, at sign-out, or when its key is revoked (the lookup joins
-- the key and refuses a revoked one).
CREATE TABLE ui_sessions (
    id_hash     bytea PRIMARY KEY,
    key_id      uuid NOT NULL REFERENCES api_keys(id),
    csrf        text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);

CREATE INDEX ui_sessions_by_expiry ON ui_sessions (expires_at);
