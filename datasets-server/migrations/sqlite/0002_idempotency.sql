-- Idempotency keys: the answer of every POST sent with an `Idempotency-Key`,
-- written in the same transaction as the POST's own writes, so a repeat is
-- answered from here and never applied twice. Rows older than the retention
-- (24 hours) are deleted as new ones arrive.

CREATE TABLE idempotency_keys (
    project_id    TEXT NOT NULL,
    -- The method and path the key was sent to (`POST /v1/datasets/qa/cases/bulk`).
    scope         TEXT NOT NULL,
    key           TEXT NOT NULL,
    -- SHA-256 of the query string and the body: the same key with another
    -- request is refused.
    request_hash  BLOB NOT NULL,
    -- The answer's body, replayed as it was.
    response      TEXT NOT NULL,
    -- Unix seconds.
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (project_id, scope, key)
) WITHOUT ROWID;

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
