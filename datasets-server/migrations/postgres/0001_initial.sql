-- Projects, API keys, datasets, cases and idempotency keys on PostgreSQL.
--
-- Case values (inputs, expected output, metadata, evaluators) are stored as
-- `text`: the client's JSON minified, with its key order and number
-- formatting intact. `jsonb` would reorder keys and normalise numbers, and
-- refuses `\u0000`. Dataset schemas are stored the same way. `pk` columns
-- keep cases in insertion order for keyset pages.

CREATE TABLE projects (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects(id),
    name        text,
    prefix      text NOT NULL,
    key_hash    bytea NOT NULL UNIQUE,
    can_read    boolean NOT NULL,
    can_write   boolean NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

CREATE TABLE datasets (
    pk                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                  uuid NOT NULL UNIQUE,
    project_id          uuid NOT NULL REFERENCES projects(id),
    name                text NOT NULL,
    description         text,
    guidance            text,
    ai_managed_guidance boolean NOT NULL DEFAULT false,
    input_schema        text,
    output_schema       text,
    metadata_schema     text,
    evaluators          text,
    report_evaluators   text,
    -- Bumped whenever a schema changes; keys the compiled-validator cache.
    schema_version      bigint NOT NULL DEFAULT 1,
    -- Kept in the same transaction as every case insert and delete.
    case_count          bigint NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    created_by          uuid,
    updated_by          uuid,
    UNIQUE (project_id, name)
);

CREATE TABLE cases (
    pk              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              uuid NOT NULL UNIQUE,
    dataset_pk      bigint NOT NULL REFERENCES datasets(pk) ON DELETE CASCADE,
    name            text,
    inputs          text NOT NULL,
    expected_output text,
    metadata        text,
    evaluators      text,
    source_trace_id text,
    source_span_id  text,
    tags            text[] NOT NULL DEFAULT '{}',
    version         bigint NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    created_by      uuid,
    updated_by      uuid
);

CREATE INDEX cases_by_dataset ON cases (dataset_pk, pk);
CREATE UNIQUE INDEX cases_unique_name ON cases (dataset_pk, name) WHERE name IS NOT NULL;
-- The tag filter (`tags && $n`).
CREATE INDEX cases_by_tag ON cases USING gin (tags);

-- The answer of every POST sent with an `Idempotency-Key`. The row is
-- inserted first, in the POST's transaction: a concurrent request with the
-- same key (on any replica) waits on the primary key, then finds the answer.
CREATE TABLE idempotency_keys (
    project_id    uuid NOT NULL,
    scope         text NOT NULL,
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    response      text,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (project_id, scope, key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
