//! Decoding case lists and exports as they arrive (see [`split`](super::split)):
//! each case is decoded the moment its last byte is read, straight into the
//! type asked for, and nothing else of the answer is kept.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::BodySink;
use super::split::{ArraySplitter, Target};
use crate::error::{Error, Result, excerpt, strip_position};
use crate::wire::EvaluatorSpec;

/// Decodes one element; `index` is its position in the array.
pub(crate) type DecodeElement<T> = fn(index: usize, bytes: &[u8]) -> Result<T>;

/// Collects the decoded elements of an answer's array.
pub(crate) struct ElementSink<T> {
    target: Target,
    splitter: ArraySplitter,
    items: Vec<T>,
    decode: DecodeElement<T>,
}

impl<T> ElementSink<T> {
    pub(crate) fn new(target: Target, decode: DecodeElement<T>) -> Self {
        Self {
            target,
            splitter: ArraySplitter::new(target),
            items: Vec::new(),
            decode,
        }
    }

    /// The elements, and the rest of the document, which must be whole.
    pub(crate) fn finish(self, what: &str) -> Result<(Vec<T>, Vec<u8>)> {
        let skeleton = self.splitter.skeleton().to_vec();
        if let Err(err) = serde_json::from_slice::<serde::de::IgnoredAny>(&skeleton) {
            return Err(Error::Decode {
                what: what.to_owned(),
                case_id: None,
                path: None,
                message: format!(
                    "the answer is not whole JSON: {}",
                    strip_position(&err.to_string())
                ),
                excerpt: excerpt(&skeleton),
            });
        }
        Ok((self.items, skeleton))
    }
}

impl<T: Send> BodySink for ElementSink<T> {
    fn reset(&mut self) {
        self.splitter = ArraySplitter::new(self.target);
        self.items.clear();
    }

    fn feed(&mut self, bytes: &[u8]) -> Result<()> {
        let Self {
            splitter,
            items,
            decode,
            ..
        } = self;
        splitter.feed(bytes, |element| {
            items.push(decode(items.len(), element)?);
            Ok(())
        })
    }
}

/// Decodes `bytes` as `T`, an error naming the element's index and the
/// path inside it (`[3].inputs.question`, or `cases[3]...` for exports).
pub(crate) fn decode_element<T: DeserializeOwned>(
    what: &str,
    prefix: &str,
    index: usize,
    bytes: &[u8],
) -> Result<T> {
    if let Ok(value) = crate::strict::from_slice(bytes) {
        return Ok(value);
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(crate::strict::Strict(deserializer)).map_err(|err| {
        let inner = err.path().to_string();
        let inner = if inner == "." {
            String::new()
        } else {
            format!(".{inner}")
        };
        Error::Decode {
            what: what.to_owned(),
            case_id: None,
            path: Some(format!("{prefix}[{index}]{inner}")),
            message: strip_position(&err.inner().to_string()),
            excerpt: excerpt(bytes),
        }
    })
}

/// An export's fields other than its cases.
#[derive(Debug, Deserialize)]
pub(crate) struct ExportRest {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub(crate) evaluators: Vec<EvaluatorSpec>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub(crate) report_evaluators: Vec<EvaluatorSpec>,
    /// From the `Dataset-Version` header, not the body.
    #[serde(skip)]
    pub(crate) version: Option<u64>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<EvaluatorSpec>, D::Error> {
    Ok(Option::<Vec<EvaluatorSpec>>::deserialize(d)?.unwrap_or_default())
}

impl ExportRest {
    pub(crate) fn parse(skeleton: &[u8]) -> Result<Self> {
        super::decode("export", skeleton)
    }
}
