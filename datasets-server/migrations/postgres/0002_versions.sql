-- Dataset versions. Every committed write to a dataset's cases, schemas or
-- evaluators makes the next version (`datasets.version`); a case write locks
-- its dataset's row first, so versions are gapless under concurrent writers
-- on any replica. `cases` stays the head: each row says from which version
-- it is as it is (`from_version`). A row replaced or deleted by a later
-- version is first copied, whole, to `case_revisions` with the versions in
-- which it was live, `[from_version, to_version)`. So the head is read as
-- before, and version N is the head rows with `from_version <= N` beside
-- the revisions live at N, both in case order. Nothing is copied per version.

ALTER TABLE datasets ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE cases ADD COLUMN from_version bigint NOT NULL DEFAULT 1;

-- Cases in order with the version each is from: reading a past version
-- and a diff over many versions walk it without reading case rows.
DROP INDEX cases_by_dataset;
CREATE INDEX cases_by_dataset ON cases (dataset_pk, pk) INCLUDE (from_version);
-- The cases a few versions touched, for diffs of those.
CREATE INDEX cases_by_from_version ON cases (dataset_pk, from_version);

CREATE TABLE case_revisions (
    dataset_pk      bigint NOT NULL REFERENCES datasets(pk) ON DELETE CASCADE,
    case_pk         bigint NOT NULL,
    from_version    bigint NOT NULL,
    to_version      bigint NOT NULL,
    id              uuid NOT NULL,
    name            text,
    inputs          text NOT NULL,
    expected_output text,
    metadata        text,
    evaluators      text,
    source_trace_id text,
    source_span_id  text,
    tags            text[] NOT NULL,
    version         bigint NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    created_by      uuid,
    updated_by      uuid,
    PRIMARY KEY (dataset_pk, case_pk, from_version)
);

CREATE INDEX case_revisions_by_end ON case_revisions (dataset_pk, to_version);
CREATE INDEX case_revisions_by_id ON case_revisions (dataset_pk, id);

-- One row per version. `definition` holds the schemas and evaluators as
-- JSON text when this version set them (version 1, and every schema
-- change); a version's definition is the latest one at or before it. A
-- pruned version keeps its row (so `as_of` still resolves to it, and
-- answers 404) but loses its revisions.
CREATE TABLE dataset_versions (
    dataset_pk  bigint NOT NULL REFERENCES datasets(pk) ON DELETE CASCADE,
    version     bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    created_by  uuid,
    added       bigint NOT NULL DEFAULT 0,
    changed     bigint NOT NULL DEFAULT 0,
    removed     bigint NOT NULL DEFAULT 0,
    case_count  bigint NOT NULL DEFAULT 0,
    definition  text,
    pruned      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (dataset_pk, version)
);

CREATE INDEX dataset_versions_by_time ON dataset_versions (dataset_pk, created_at);

CREATE TABLE version_tags (
    dataset_pk  bigint NOT NULL REFERENCES datasets(pk) ON DELETE CASCADE,
    tag         text NOT NULL,
    version     bigint NOT NULL,
    PRIMARY KEY (dataset_pk, tag)
);

CREATE INDEX version_tags_by_version ON version_tags (dataset_pk, version);

-- Datasets that predate versions start at version 1, as they are.
INSERT INTO dataset_versions (dataset_pk, version, created_at, created_by, added, case_count,
                              definition)
SELECT pk, 1, updated_at, updated_by, case_count, case_count,
       json_build_object('input_schema', input_schema::json, 'output_schema', output_schema::json,
                         'metadata_schema', metadata_schema::json, 'evaluators', evaluators::json,
                         'report_evaluators', report_evaluators::json)::text
FROM datasets;
