-- Experiments: evaluation runs, from OTLP spans in pydantic-evals' shape or
-- from posted reports. A run's row and its case rows are joined by the
-- trace and the run's span id rather than by a key, because spans arrive in
-- any order and the run's span usually last: each row is upserted as it
-- comes, and a run is assembled when read. An experiment is not tied to its
-- dataset by a foreign key: deleting the dataset keeps its experiments,
-- which record its id and name.

CREATE TABLE experiments (
    pk              INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    project_id      TEXT NOT NULL REFERENCES projects(id),
    trace_id        TEXT NOT NULL,
    span_id         TEXT NOT NULL,
    source          TEXT NOT NULL,
    name            TEXT NOT NULL,
    task_name       TEXT,
    dataset_id      TEXT,
    dataset_name    TEXT,
    dataset_version INTEGER,
    -- Metadata, counts, averages, analyses: JSON.
    doc             TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    ended_at        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    created_by      TEXT,
    UNIQUE (project_id, trace_id, span_id)
);

CREATE INDEX experiments_newest ON experiments (project_id, pk);
CREATE INDEX experiments_by_dataset_id ON experiments (project_id, dataset_id, pk);
CREATE INDEX experiments_by_dataset_name ON experiments (project_id, dataset_name, pk);

CREATE TABLE experiment_cases (
    pk              INTEGER PRIMARY KEY,
    project_id      TEXT NOT NULL REFERENCES projects(id),
    trace_id        TEXT NOT NULL,
    parent_span_id  TEXT NOT NULL,
    span_id         TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    failed          INTEGER NOT NULL,
    -- The case result as the report's JSON writes it.
    body            TEXT NOT NULL,
    UNIQUE (project_id, trace_id, parent_span_id, span_id)
);

CREATE INDEX experiment_cases_in_order
    ON experiment_cases (project_id, trace_id, parent_span_id, seq, failed);
