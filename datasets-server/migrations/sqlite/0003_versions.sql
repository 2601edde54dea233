-- Dataset versions. Every committed write to a dataset's cases, schemas or
-- evaluators makes the next version (`datasets.version`). `cases` stays the
-- head: each row says from which version it is as it is (`from_version`).
-- A row replaced or deleted by a later version is first copied, whole, to
-- `case_revisions` with the versions in which it was live,
-- `[from_version, to_version)`. So the head is read as before, and version
-- N is the head rows with `from_version <= N` beside the revisions live at
-- N, both in case order. Nothing is copied per version.

ALTER TABLE datasets ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE cases ADD COLUMN from_version INTEGER NOT NULL DEFAULT 1;

-- Cases in order with the version each is from: reading a past version
-- and a diff over many versions walk it without reading case rows.
DROP INDEX cases_by_dataset;
CREATE INDEX cases_by_dataset ON cases (dataset_pk, pk, from_version);
-- The cases a few versions touched, for diffs of those.
CREATE INDEX cases_by_from_version ON cases (dataset_pk, from_version);

CREATE TABLE case_revisions (
    dataset_pk      INTEGER NOT NULL REFERENCES datasets(pk) ON DELETE CASCADE,
    case_pk         INTEGER NOT NULL,
    from_version    INTEGER NOT NULL,
    to_version      INTEGER NOT NULL,
    id              TEXT NOT NULL,
    name            TEXT,
    inputs          TEXT NOT NULL,
    expected_output TEXT,
    metadata        TEXT,
    evaluators      TEXT,
    source_trace_id TEXT,
    source_span_id  TEXT,
    tags            TEXT NOT NULL,
    version         INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    created_by      TEXT,
    updated_by      TEXT,
    PRIMARY KEY (dataset_pk, case_pk, from_version)
) WITHOUT ROWID;

CREATE INDEX case_revisions_by_end ON case_revisions (dataset_pk, to_version);
CREATE INDEX case_revisions_by_id ON case_revisions (dataset_pk, id);

-- One row per version. `definition` holds the schemas and evaluators as
-- JSON when this version set them (version 1, and every schema change);
-- a version's definition is the latest one at or before it. A pruned
-- version keeps its row (so `as_of` still resolves to it, and answers 404)
-- but loses its revisions.
CREATE TABLE dataset_versions (
    dataset_pk  INTEGER NOT NULL REFERENCES datasets(pk) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    -- Unix microseconds, for `as_of`.
    created_us  INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT,
    added       INTEGER NOT NULL DEFAULT 0,
    changed     INTEGER NOT NULL DEFAULT 0,
    removed     INTEGER NOT NULL DEFAULT 0,
    case_count  INTEGER NOT NULL DEFAULT 0,
    definition  TEXT,
    pruned      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dataset_pk, version)
) WITHOUT ROWID;

CREATE INDEX dataset_versions_by_time ON dataset_versions (dataset_pk, created_us);

CREATE TABLE version_tags (
    dataset_pk  INTEGER NOT NULL REFERENCES datasets(pk) ON DELETE CASCADE,
    tag         TEXT NOT NULL,
    version     INTEGER NOT NULL,
    PRIMARY KEY (dataset_pk, tag)
) WITHOUT ROWID;

CREATE INDEX version_tags_by_version ON version_tags (dataset_pk, version);

-- Datasets that predate versions start at version 1, as they are.
INSERT INTO dataset_versions (dataset_pk, version, created_us, created_at, created_by,
                              added, case_count, definition)
SELECT pk, 1, CAST((julianday(updated_at) - 2440587.5) * 86400000000 AS INTEGER), updated_at,
       updated_by, case_count, case_count,
       json_object('input_schema', json(input_schema), 'output_schema', json(output_schema),
                   'metadata_schema', json(metadata_schema), 'evaluators', json(evaluators),
                   'report_evaluators', json(report_evaluators))
FROM datasets;
