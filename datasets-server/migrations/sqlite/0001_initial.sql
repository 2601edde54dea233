-- Projects, API keys, datasets and cases.
-- Ids are UUIDs and timestamps RFC 3339 UTC, both as text; JSON values are
-- stored as JSON text. `pk` columns are internal row ids that keep cases in
-- insertion order and make joins cheap.

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id),
    name        TEXT,
    prefix      TEXT NOT NULL,
    key_hash    BLOB NOT NULL UNIQUE,
    can_read    INTEGER NOT NULL,
    can_write   INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE datasets (
    pk                  INTEGER PRIMARY KEY,
    id                  TEXT NOT NULL UNIQUE,
    project_id          TEXT NOT NULL REFERENCES projects(id),
    name                TEXT NOT NULL,
    description         TEXT,
    guidance            TEXT,
    ai_managed_guidance INTEGER NOT NULL DEFAULT 0,
    input_schema        TEXT,
    output_schema       TEXT,
    metadata_schema     TEXT,
    evaluators          TEXT,
    report_evaluators   TEXT,
    -- Bumped whenever a schema changes; keys the compiled-validator cache.
    schema_version      INTEGER NOT NULL DEFAULT 1,
    -- Kept in the same transaction as every case insert and delete.
    case_count          INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    created_by          TEXT,
    updated_by          TEXT,
    UNIQUE (project_id, name)
);

CREATE TABLE cases (
    pk              INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    dataset_pk      INTEGER NOT NULL REFERENCES datasets(pk) ON DELETE CASCADE,
    name            TEXT,
    inputs          TEXT NOT NULL,
    expected_output TEXT,
    metadata        TEXT,
    evaluators      TEXT,
    source_trace_id TEXT,
    source_span_id  TEXT,
    tags            TEXT NOT NULL DEFAULT '[]',
    version         INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    created_by      TEXT,
    updated_by      TEXT
);

CREATE INDEX cases_by_dataset ON cases (dataset_pk, pk);
CREATE UNIQUE INDEX cases_unique_name ON cases (dataset_pk, name) WHERE name IS NOT NULL;

-- The tag filter's index; `cases.tags` stays the source of the answer's order.
CREATE TABLE case_tags (
    case_pk     INTEGER NOT NULL REFERENCES cases(pk) ON DELETE CASCADE,
    dataset_pk  INTEGER NOT NULL,
    tag         TEXT NOT NULL,
    PRIMARY KEY (case_pk, tag)
) WITHOUT ROWID;

CREATE INDEX case_tags_by_tag ON case_tags (dataset_pk, tag);
