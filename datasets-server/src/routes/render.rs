//! Cases written as the protocol's JSON, from their stored text: the case
//! object of `CaseDetail`, and the pydantic-evals shape of an export.

use datasets_core::wire::Timestamp;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::store::CaseRecord;

impl CaseRecord {
    /// The case as the protocol's JSON object (the shape of `CaseDetail`).
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"id\":");
        write_uuid(out, Some(&self.id));
        out.extend_from_slice(b",\"dataset_id\":");
        write_uuid(out, Some(&self.dataset_id));
        out.extend_from_slice(b",\"name\":");
        write_text(out, self.name.as_deref());
        out.extend_from_slice(b",\"inputs\":");
        out.extend_from_slice(self.inputs.as_bytes());
        out.extend_from_slice(b",\"expected_output\":");
        write_raw(out, self.expected_output.as_deref());
        out.extend_from_slice(b",\"metadata\":");
        write_raw(out, self.metadata.as_deref());
        out.extend_from_slice(b",\"evaluators\":");
        write_raw(out, self.evaluators.as_deref());
        out.extend_from_slice(b",\"source_trace_id\":");
        write_text(out, self.source_trace_id.as_deref());
        out.extend_from_slice(b",\"source_span_id\":");
        write_text(out, self.source_span_id.as_deref());
        out.extend_from_slice(b",\"tags\":");
        serde_json::to_writer(&mut *out, &self.tags).expect("strings serialize");
        out.extend_from_slice(format!(",\"version\":{}", self.version).as_bytes());
        out.extend_from_slice(b",\"created_at\":");
        write_timestamp(out, self.created_at);
        out.extend_from_slice(b",\"updated_at\":");
        write_timestamp(out, self.updated_at);
        out.extend_from_slice(b",\"created_by\":");
        write_uuid(out, self.created_by.as_ref());
        out.extend_from_slice(b",\"updated_by\":");
        write_uuid(out, self.updated_by.as_ref());
        out.push(b'}');
    }

    /// The case as a pydantic-evals case object, exactly the keys its
    /// `_CaseModel` accepts, with `evaluators` a list.
    pub(crate) fn write_export_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"name\":");
        write_text(out, self.name.as_deref());
        out.extend_from_slice(b",\"inputs\":");
        out.extend_from_slice(self.inputs.as_bytes());
        out.extend_from_slice(b",\"metadata\":");
        write_raw(out, self.metadata.as_deref());
        out.extend_from_slice(b",\"expected_output\":");
        write_raw(out, self.expected_output.as_deref());
        out.extend_from_slice(b",\"evaluators\":");
        out.extend_from_slice(self.evaluators.as_deref().unwrap_or("[]").as_bytes());
        out.push(b'}');
    }

    /// [`write_json`](Self::write_json) into a new buffer.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        self.write_json(&mut out);
        out
    }
}

fn write_raw(out: &mut Vec<u8>, json: Option<&str>) {
    out.extend_from_slice(json.unwrap_or("null").as_bytes());
}

fn write_text(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => serde_json::to_writer(&mut *out, text).expect("strings serialize"),
        None => out.extend_from_slice(b"null"),
    }
}

/// A timestamp as the protocol writes it: RFC 3339, quoted.
fn write_timestamp(out: &mut Vec<u8>, at: Timestamp) {
    out.push(b'"');
    at.format_into(out, &Rfc3339)
        .expect("UTC timestamps always format");
    out.push(b'"');
}

fn write_uuid(out: &mut Vec<u8>, id: Option<&Uuid>) {
    match id {
        Some(id) => {
            out.push(b'"');
            out.extend_from_slice(
                id.hyphenated()
                    .encode_lower(&mut Uuid::encode_buffer())
                    .as_bytes(),
            );
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}
