use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One field of an update body: leave it as it is, clear it, or set it.
///
/// On the wire an absent key means [`Patch::Keep`], `null` means
/// [`Patch::Clear`] and any other value means [`Patch::Set`]. This is the
/// Rust counterpart of the Python SDK's `_UNSET` sentinel: `Option<T>` cannot
/// tell "leave as is" from "clear".
///
/// A struct field of this type needs
/// `#[serde(default, skip_serializing_if = "Patch::is_keep")]` so that an
/// absent key deserializes to `Keep` and `Keep` is never written.
///
/// ```
/// use datasets_core::{Patch, wire::DatasetUpdate};
///
/// let update: DatasetUpdate =
///     serde_json::from_str(r#"{"description": null, "guidance": "be terse"}"#).unwrap();
/// assert_eq!(update.description, Patch::Clear);
/// assert_eq!(update.guidance, Patch::Set("be terse".to_owned()));
/// assert_eq!(update.name, Patch::Keep);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    /// Leave the stored value unchanged (the key is absent).
    #[default]
    Keep,
    /// Clear the stored value (the key is `null`).
    Clear,
    /// Replace the stored value.
    Set(T),
}

impl<T> Patch<T> {
    /// Whether this is [`Patch::Keep`]; used by `skip_serializing_if`.
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }

    /// The new value if the field is being set.
    pub fn as_set(&self) -> Option<&T> {
        match self {
            Patch::Set(value) => Some(value),
            _ => None,
        }
    }

    /// Applies this patch to the current value of a nullable field.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => current,
            Patch::Clear => None,
            Patch::Set(value) => Some(value),
        }
    }

    /// Maps the value of [`Patch::Set`].
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(value) => Patch::Set(f(value)),
        }
    }
}

impl<T> From<Option<T>> for Patch<T> {
    /// `Some` sets the field, `None` clears it.
    fn from(value: Option<T>) -> Self {
        match value {
            Some(value) => Patch::Set(value),
            None => Patch::Clear,
        }
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Only reached when the field lacks `skip_serializing_if`: the
            // closest meaning on the wire is "no change requested".
            Patch::Keep | Patch::Clear => serializer.serialize_none(),
            Patch::Set(value) => value.serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(deserializer)?.into())
    }
}
