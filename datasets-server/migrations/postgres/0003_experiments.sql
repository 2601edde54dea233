-- Experiments: evaluation runs, from OTLP spans in pydantic-evals' shape or
-- from posted reports. A run's row and its case rows are joined by the
-- trace and the run's span id rather than by a key, because spans arrive in
-- any order, over several batches and at different replicas, and the run's
-- span usually last: each row is upserted as it comes (the unique keys make
-- concurrent deliveries of one span a single row), and a run is assembled
-- when read. Deleting a dataset keeps its experiments, which record its id
-- and name.

CREATE TABLE experiments (
    pk              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              uuid NOT NULL UNIQUE,
    project_id      uuid NOT NULL REFERENCES projects(id),
    trace_id        text NOT NULL,
    span_id         text NOT NULL,
    source          text NOT NULL,
    name            text NOT NULL,
    task_name       text,
    dataset_id      uuid,
    dataset_name    text,
    dataset_version bigint,
    -- Metadata, counts, averages, analyses: JSON text.
    doc             text NOT NULL,
    started_at      timestamptz NOT NULL,
    ended_at        timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    created_by      uuid,
    UNIQUE (project_id, trace_id, span_id)
);

CREATE INDEX experiments_newest ON experiments (project_id, pk);
CREATE INDEX experiments_by_dataset_id ON experiments (project_id, dataset_id, pk);
CREATE INDEX experiments_by_dataset_name ON experiments (project_id, dataset_name, pk);

CREATE TABLE experiment_cases (
    pk              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id      uuid NOT NULL REFERENCES projects(id),
    trace_id        text NOT NULL,
    parent_span_id  text NOT NULL,
    span_id         text NOT NULL,
    seq             bigint NOT NULL,
    failed          boolean NOT NULL,
    -- The case result as the report's JSON writes it.
    body            text NOT NULL,
    UNIQUE (project_id, trace_id, parent_span_id, span_id)
);

CREATE INDEX experiment_cases_in_order
    ON experiment_cases (project_id, trace_id, parent_span_id, seq, pk) INCLUDE (failed);
