//! Datasets declared in Rust: the [`DatasetSchema`] trait that
//! `#[derive(DatasetSchema)]` implements, the JSON Schemas it generates, and
//! the registry of every declared dataset in the binary.

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Patch;
use crate::client::DatasetsClient;
use crate::error::{Error, Result};
use crate::wire::{DatasetDetail, DatasetUpdate, NewDataset};

/// What a type must be to serve as a dataset's `inputs`. Implemented for
/// every type that is `Serialize + DeserializeOwned + JsonSchema + Send + Sync`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the `inputs` of a dataset",
    label = "the `inputs` field's type",
    note = "a dataset's `inputs` type must implement `serde::Serialize`, `serde::de::DeserializeOwned`, `schemars::JsonSchema`, `Send` and `Sync`"
)]
pub trait InputsType: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static {}
impl<T: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static> InputsType for T {}

/// What a type must be to serve as a dataset's `expected_output`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the `expected_output` of a dataset",
    label = "the `expected_output` field's type",
    note = "a dataset's `expected_output` type must implement `serde::Serialize`, `serde::de::DeserializeOwned`, `schemars::JsonSchema`, `Send` and `Sync`"
)]
pub trait OutputType: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static {}
impl<T: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static> OutputType for T {}

/// What a type must be to serve as a dataset's `metadata`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the `metadata` of a dataset",
    label = "the `metadata` field's type",
    note = "a dataset's `metadata` type must implement `serde::Serialize`, `serde::de::DeserializeOwned`, `schemars::JsonSchema`, `Send` and `Sync`"
)]
pub trait MetadataType: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static {}
impl<T: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static> MetadataType for T {}

/// A dataset declared in Rust: its name and the types of its cases'
/// inputs, expected outputs and metadata.
///
/// Implement it with `#[derive(DatasetSchema)]` and `#[dataset(name = "...")]`
/// (see the `datasets` crate); the derive checks the declaration at compile
/// time and registers it in [`registry`].
pub trait DatasetSchema: 'static {
    /// The type of `inputs`.
    type Input: InputsType;
    /// The type of `expected_output` (`serde_json::Value` when not declared).
    type Output: OutputType;
    /// The type of `metadata` (`serde_json::Value` when not declared).
    type Metadata: MetadataType;
    /// The dataset's name.
    const NAME: &'static str;

    /// The whole declaration, with the generated JSON Schemas.
    fn definition() -> DatasetDefinition;

    /// The generated schemas of the three types, for the derive's
    /// `definition`: called through the trait, so that a field type
    /// without `JsonSchema` is reported once, at the field.
    #[doc(hidden)]
    fn __schemas() -> [Option<Value>; 3] {
        [
            schema_of::<Self::Input>(),
            schema_of::<Self::Output>(),
            schema_of::<Self::Metadata>(),
        ]
    }
}

/// A dataset's declaration: what [`DatasetSchema::definition`] returns and
/// what `ensure` and [`Registry::sync`] bring a server up to date with.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetDefinition {
    /// The name.
    pub name: String,
    /// The description, if declared.
    pub description: Option<String>,
    /// The guidance, if declared.
    pub guidance: Option<String>,
    /// Whether Logfire's AI features may maintain the guidance, if declared.
    pub ai_managed_guidance: Option<bool>,
    /// JSON Schema of `inputs` (`None`: anything goes).
    pub input_schema: Option<Value>,
    /// JSON Schema of `expected_output` (`None`: anything goes).
    pub output_schema: Option<Value>,
    /// JSON Schema of `metadata` (`None`: anything goes).
    pub metadata_schema: Option<Value>,
}

impl DatasetDefinition {
    /// The create body for this declaration.
    pub fn to_new_dataset(&self) -> NewDataset {
        NewDataset {
            name: self.name.clone(),
            description: self.description.clone(),
            input_schema: self.input_schema.clone(),
            output_schema: self.output_schema.clone(),
            metadata_schema: self.metadata_schema.clone(),
            guidance: self.guidance.clone(),
            ai_managed_guidance: self.ai_managed_guidance,
            evaluators: None,
            report_evaluators: None,
        }
    }

    /// What must change on the server for `current` to match this
    /// declaration: schemas follow the Rust types (a type that accepts
    /// anything clears the schema); description, guidance and
    /// `ai_managed_guidance` are set when declared and differing, and left
    /// alone when not declared.
    pub fn changes_from(&self, current: &DatasetDetail) -> DatasetUpdate {
        fn schema(declared: &Option<Value>, current: &Option<Value>) -> Patch<Value> {
            match (declared, current) {
                (a, b) if a == b => Patch::Keep,
                (Some(a), _) => Patch::Set(a.clone()),
                (None, Some(_)) => Patch::Clear,
                (None, None) => Patch::Keep,
            }
        }
        fn text(declared: &Option<String>, current: &Option<String>) -> Patch<String> {
            match declared {
                Some(value) if Some(value) != current.as_ref() => Patch::Set(value.clone()),
                _ => Patch::Keep,
            }
        }
        DatasetUpdate {
            description: text(&self.description, &current.description),
            guidance: text(&self.guidance, &current.guidance),
            ai_managed_guidance: match self.ai_managed_guidance {
                Some(managed) if managed != current.ai_managed_guidance => Patch::Set(managed),
                _ => Patch::Keep,
            },
            input_schema: schema(&self.input_schema, &current.input_schema),
            output_schema: schema(&self.output_schema, &current.output_schema),
            metadata_schema: schema(&self.metadata_schema, &current.metadata_schema),
            ..DatasetUpdate::default()
        }
    }
}

/// The JSON Schema of `T` as the server receives it, or `None` if `T`
/// accepts any JSON (e.g. `serde_json::Value`).
///
/// The schema is JSON Schema 2020-12 as schemars generates it and as
/// Pydantic users know it: an object schema with `title`, `properties`,
/// `required`, and nested types under `$defs`. The `$schema` key is left
/// out, as Pydantic leaves it out.
pub fn schema_of<T: JsonSchema>() -> Option<Value> {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<T>();
    let mut value = schema.to_value();
    if let Value::Object(map) = &mut value {
        map.remove("$schema");
        // Pydantic titles a root schema with a model's or an enum's name
        // only; schemars titles every root, `boolean` and `string` too.
        // Types schemars always inlines (primitives, options, lists, maps)
        // are no named type.
        if T::inline_schema() {
            map.remove("title");
        }
        let constrains = map.keys().any(|key| {
            !matches!(
                key.as_str(),
                "title" | "description" | "$comment" | "examples" | "default"
            )
        });
        if !constrains {
            return None;
        }
    }
    match value {
        Value::Bool(true) => None,
        other => Some(other),
    }
}

/// What `ensure` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnsureAction {
    /// The dataset did not exist and was created.
    Created,
    /// It existed and some declared field differed; those were updated.
    Updated,
    /// It already matched the declaration; nothing was written.
    Unchanged,
}

/// The outcome of `ensure`: the dataset as it now is, and what was done.
#[derive(Debug, Clone, PartialEq)]
pub struct Ensured {
    /// The dataset on the server after the call.
    pub dataset: DatasetDetail,
    /// What was done.
    pub action: EnsureAction,
}

/// Brings the server up to date with one declaration: creates the dataset
/// if missing, updates what differs, writes nothing if it matches.
pub(crate) async fn ensure_definition(
    client: &DatasetsClient,
    definition: &DatasetDefinition,
) -> Result<Ensured> {
    let current = match client.get_dataset(definition.name.clone()).await {
        Ok(current) => current,
        Err(Error::DatasetNotFound { .. }) => {
            let created = client
                .create_dataset(definition.name.clone())
                .body(definition.to_new_dataset())
                .await;
            match created {
                Ok(dataset) => {
                    return Ok(Ensured {
                        dataset,
                        action: EnsureAction::Created,
                    });
                }
                // Someone else created it meanwhile: compare with theirs.
                Err(Error::Api { status: 409, .. }) => {
                    client.get_dataset(definition.name.clone()).await?
                }
                Err(err) => return Err(err),
            }
        }
        Err(err) => return Err(err),
    };
    let changes = definition.changes_from(&current);
    if changes == DatasetUpdate::default() {
        return Ok(Ensured {
            dataset: current,
            action: EnsureAction::Unchanged,
        });
    }
    let dataset = client
        .update_dataset(current.id.to_string())
        .body(changes)
        .await?;
    Ok(Ensured {
        dataset,
        action: EnsureAction::Updated,
    })
}

/// One declared dataset, as the derive registers it. Not for direct use.
#[doc(hidden)]
pub struct Registration {
    definition: fn() -> DatasetDefinition,
    name: &'static str,
    type_name: fn() -> &'static str,
}

impl Registration {
    /// The registration of `D`.
    pub const fn of<D: DatasetSchema>() -> Self {
        Self {
            definition: D::definition,
            name: D::NAME,
            type_name: std::any::type_name::<D>,
        }
    }
}

inventory::collect!(Registration);

/// Why `D` may not be used: another Rust type in this binary declares the
/// same dataset name, so each `ensure()` would overwrite the other's
/// schemas. `None` when `D` is the only declaration of its name.
pub(crate) fn declaration_conflict<D: DatasetSchema>() -> Option<String> {
    let this = std::any::type_name::<D>();
    let mut others: Vec<&'static str> = inventory::iter::<Registration>
        .into_iter()
        .filter(|registration| registration.name == D::NAME)
        .map(|registration| (registration.type_name)())
        .filter(|name| *name != this)
        .collect();
    others.sort_unstable();
    others.dedup();
    let other = others.first()?;
    Some(format!(
        "the dataset name `{}` is declared by two Rust types, `{this}` and `{other}`: each \
         would overwrite the other's schemas on the server; give one of them another \
         `#[dataset(name = ...)]`",
        D::NAME
    ))
}

/// Every dataset declared with `#[derive(DatasetSchema)]` in this binary.
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// let report = datasets_core::registry().sync(&client).await?;
/// println!("created {:?}, updated {:?}", report.created, report.updated);
/// # Ok(()) }
/// ```
pub fn registry() -> Registry {
    let mut definitions: Vec<DatasetDefinition> = inventory::iter::<Registration>
        .into_iter()
        .map(|registration| (registration.definition)())
        .collect();
    definitions.sort_by(|a, b| a.name.cmp(&b.name));
    definitions.dedup();
    Registry { definitions }
}

/// The declared datasets; see [`registry`].
#[derive(Debug, Clone, PartialEq)]
pub struct Registry {
    definitions: Vec<DatasetDefinition>,
}

/// What [`Registry::sync`] did, by dataset name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Datasets that were missing and were created.
    pub created: Vec<String>,
    /// Datasets whose declared fields differed and were updated.
    pub updated: Vec<String>,
    /// Datasets that already matched.
    pub unchanged: Vec<String>,
}

impl Registry {
    /// The declarations, by name.
    pub fn definitions(&self) -> &[DatasetDefinition] {
        &self.definitions
    }

    /// The names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.definitions.iter().map(|d| d.name.as_str()).collect()
    }

    /// Keeps only the declarations `keep` accepts.
    pub fn filter(mut self, keep: impl Fn(&DatasetDefinition) -> bool) -> Self {
        self.definitions.retain(|d| keep(d));
        self
    }

    /// Brings a server up to date with every declaration: creates what is
    /// missing, updates schemas, description and guidance that changed,
    /// leaves the rest. Two different declarations of one name are an
    /// [`Error::InvalidArgument`], found before anything is written.
    pub async fn sync(&self, client: &DatasetsClient) -> Result<SyncReport> {
        for pair in self.definitions.windows(2) {
            if pair[0].name == pair[1].name {
                return Err(Error::InvalidArgument(format!(
                    "two different Rust types declare the dataset {:?}",
                    pair[0].name
                )));
            }
        }
        let mut report = SyncReport::default();
        for definition in &self.definitions {
            let ensured = ensure_definition(client, definition).await?;
            let bucket = match ensured.action {
                EnsureAction::Created => &mut report.created,
                EnsureAction::Updated => &mut report.updated,
                EnsureAction::Unchanged => &mut report.unchanged,
            };
            bucket.push(definition.name.clone());
        }
        Ok(report)
    }

    /// [`sync`](Self::sync) for the blocking client.
    pub fn sync_blocking(&self, client: &crate::blocking::DatasetsClient) -> Result<SyncReport> {
        client.block_on(self.sync(&client.as_async()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct QuestionInput {
        question: String,
        context: Option<String>,
    }

    #[test]
    fn schemas_look_like_pydantics() {
        let schema = schema_of::<QuestionInput>().unwrap();
        assert_eq!(schema["title"], "QuestionInput");
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"], serde_json::json!(["question"]));
        assert!(schema.get("$schema").is_none());
        assert_eq!(schema_of::<Value>(), None, "anything goes: no schema");
        // Pydantic's TypeAdapter(str/bool/list[int]).json_schema(): no title.
        assert_eq!(
            schema_of::<String>(),
            Some(serde_json::json!({"type": "string"}))
        );
        assert_eq!(
            schema_of::<bool>(),
            Some(serde_json::json!({"type": "boolean"}))
        );
        assert_eq!(
            schema_of::<Vec<i64>>(),
            Some(
                serde_json::json!({"type": "array", "items": {"type": "integer", "format": "int64"}})
            )
        );
        // A named enum keeps its name, as a Python Enum's schema does.
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        enum Difficulty {
            Easy,
            Hard,
        }
        assert_eq!(schema_of::<Difficulty>().unwrap()["title"], "Difficulty");
    }
}
