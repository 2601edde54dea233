//! Dataset versions, a `datasets-server` addition to the protocol: the
//! version list, one version, tags, diffs, and the `version` / `as_of`
//! parameters of reads.

use std::fmt;

use reqwest::Method;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::super::{Async, Call, DatasetsClient, finish};
use super::*;
use crate::error::{Error, Result};
use crate::wire::{CaseDiff, DatasetVersion, VersionTag};

/// A dataset version as a request names it: its number, or a tag on it.
///
/// ```
/// use datasets_core::VersionRef;
///
/// assert_eq!(VersionRef::from(12).to_string(), "12");
/// assert_eq!(VersionRef::from("release-2026-12").to_string(), "release-2026-12");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VersionRef {
    /// By number.
    Number(u64),
    /// By tag.
    Tag(String),
}

impl From<u64> for VersionRef {
    fn from(number: u64) -> Self {
        VersionRef::Number(number)
    }
}

impl From<&str> for VersionRef {
    fn from(tag: &str) -> Self {
        VersionRef::Tag(tag.to_owned())
    }
}

impl From<String> for VersionRef {
    fn from(tag: String) -> Self {
        VersionRef::Tag(tag)
    }
}

impl From<&DatasetVersion> for VersionRef {
    fn from(version: &DatasetVersion) -> Self {
        VersionRef::Number(version.version)
    }
}

impl fmt::Display for VersionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionRef::Number(n) => write!(f, "{n}"),
            VersionRef::Tag(tag) => f.write_str(tag),
        }
    }
}

impl VersionRef {
    /// As a path segment.
    fn segment(&self) -> String {
        segment(&self.to_string())
    }

    /// A tag that would read as a number is refused here, as the server would.
    fn check(&self) -> Result<()> {
        match self {
            VersionRef::Tag(tag) if tag.is_empty() => Err(Error::InvalidArgument(
                "a version tag may not be empty".to_owned(),
            )),
            _ => Ok(()),
        }
    }
}

/// Which version a read is at: the head, a version, or the latest version
/// at or before a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum At {
    #[default]
    Head,
    Version(VersionRef),
    AsOf(OffsetDateTime),
}

impl At {
    /// Adds the parameter to a call; refused before sending against a
    /// server without versions (Logfire's API has none).
    pub(crate) fn apply(&self, client: &DatasetsClient, call: &mut Call) -> Result<()> {
        if *self == At::Head {
            return Ok(());
        }
        if !client.is_datasets_server() {
            return Err(unsupported());
        }
        match self {
            At::Head => {}
            At::Version(version) => {
                version.check()?;
                call.query.push(("version", version.to_string()));
            }
            At::AsOf(at) => {
                let text = at
                    .to_offset(time::UtcOffset::UTC)
                    .format(&Rfc3339)
                    .map_err(|err| Error::InvalidArgument(format!("as_of: {err}")))?;
                call.query.push(("as_of", text));
            }
        }
        Ok(())
    }
}

fn unsupported() -> Error {
    Error::InvalidArgument(
        "dataset versions are a datasets-server feature; Logfire's datasets API has none"
            .to_owned(),
    )
}

/// Setters of the version a read is at, for builders with an `at` field.
macro_rules! version_setters {
    () => {
        /// Reads the dataset as it was at this version (a number or a
        /// version tag); `datasets-server` only.
        pub fn version(mut self, version: impl Into<$crate::client::VersionRef>) -> Self {
            self.at = $crate::client::ops::At::Version(version.into());
            self
        }

        /// Reads the dataset as it was at the latest version made at or
        /// before `time`; `datasets-server` only.
        pub fn as_of(mut self, time: ::time::OffsetDateTime) -> Self {
            self.at = $crate::client::ops::At::AsOf(time);
            self
        }
    };
}
pub(crate) use version_setters;

/// Versions per page when listing.
const VERSIONS_PAGE: usize = 1_000;

/// `GET /v1/datasets/{dataset}/versions/`: newest first; see
/// [`DatasetsClient::list_versions`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// for version in client.list_versions("qa-golden-set").limit(10).await? {
///     println!("v{}: +{} ~{} -{} {:?}", version.version, version.added,
///              version.changed, version.removed, version.tags);
/// }
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct ListVersions<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
    pub(crate) limit: Option<usize>,
}

impl<M> ListVersions<M> {
    /// At most this many, the newest (default: all).
    pub fn limit(mut self, versions: usize) -> Self {
        self.limit = Some(versions.max(1));
        self
    }

    pub(crate) async fn run(self) -> Result<Vec<DatasetVersion>> {
        if !self.client.is_datasets_server() {
            return Err(unsupported());
        }
        let path = dataset_path(&self.dataset, "versions/")?;
        let mut versions = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let want = self.limit.map_or(VERSIONS_PAGE, |limit| {
                (limit - versions.len()).min(VERSIONS_PAGE)
            });
            let mut call = Call::new(Method::GET, path.clone());
            call.query.push(("limit", want.to_string()));
            if let Some(cursor) = &cursor {
                call.query.push(("cursor", cursor.clone()));
            }
            let (body, headers) = self.client.execute_with_headers(&call).await?;
            versions.extend(super::super::decode::<Vec<DatasetVersion>>(
                "list of versions",
                &body,
            )?);
            cursor = headers
                .get("next-cursor")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let full = self.limit.is_some_and(|limit| versions.len() >= limit);
            if cursor.is_none() || full {
                return Ok(versions);
            }
        }
    }
}
finish!(ListVersions => Vec<DatasetVersion>);

/// `GET /v1/datasets/{dataset}/versions/{version}/`; see [`DatasetsClient::get_version`].
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct GetVersion<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
    pub(crate) version: VersionRef,
}

impl<M> GetVersion<M> {
    pub(crate) async fn run(self) -> Result<DatasetVersion> {
        if !self.client.is_datasets_server() {
            return Err(unsupported());
        }
        self.version.check()?;
        let path = dataset_path(
            &self.dataset,
            &format!("versions/{}/", self.version.segment()),
        )?;
        self.client
            .json(Call::new(Method::GET, path), "DatasetVersion")
            .await
    }
}
finish!(GetVersion => DatasetVersion);

/// `POST /v1/datasets/{dataset}/versions/{version}/tags/`, or with
/// [`remove`](TagVersion::remove), `DELETE .../tags/{tag}/`; see
/// [`DatasetsClient::tag_version`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// let head = client.get_dataset("qa-golden-set").await?.version.unwrap_or(1);
/// client.tag_version("qa-golden-set", head, "release-2026-12").await?;
/// let release = client.export_dataset("qa-golden-set").version("release-2026-12").await?;
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct TagVersion<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
    pub(crate) version: VersionRef,
    pub(crate) tag: String,
    pub(crate) remove: bool,
}

impl<M> TagVersion<M> {
    /// Takes the tag off the version instead (it must be on it).
    pub fn remove(mut self) -> Self {
        self.remove = true;
        self
    }

    /// The version as it now is; after [`remove`](Self::remove), too.
    pub(crate) async fn run(self) -> Result<DatasetVersion> {
        if !self.client.is_datasets_server() {
            return Err(unsupported());
        }
        self.version.check()?;
        let base = format!("versions/{}/tags/", self.version.segment());
        if self.remove {
            let path = dataset_path(&self.dataset, &format!("{base}{}/", segment(&self.tag)))?;
            self.client
                .execute(&Call::new(Method::DELETE, path))
                .await?;
            let version = self.version;
            return GetVersion {
                client: self.client,
                mode: (),
                dataset: self.dataset,
                version,
            }
            .run()
            .await;
        }
        let mut call = Call::new(Method::POST, dataset_path(&self.dataset, &base)?);
        call.body = Some(
            serde_json::to_vec(&VersionTag { tag: self.tag })
                .map_err(|err| Error::InvalidArgument(err.to_string()))?
                .into(),
        );
        self.client.json(call, "DatasetVersion").await
    }
}
finish!(TagVersion => DatasetVersion);

/// `GET /v1/datasets/{dataset}/diff/?from=A&to=B`; see [`DatasetsClient::diff`].
///
/// ```no_run
/// # async fn run(client: datasets_core::DatasetsClient) -> datasets_core::Result<()> {
/// for change in client.diff("qa-golden-set", "release-2026-11", "release-2026-12").await? {
///     println!("{:?} {} {:?}", change.change, change.case_id, change.fields);
/// }
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
#[derive(Debug, Clone)]
pub struct Diff<M = Async> {
    pub(crate) client: DatasetsClient,
    pub(crate) mode: M,
    pub(crate) dataset: String,
    pub(crate) from: VersionRef,
    pub(crate) to: VersionRef,
}

impl<M> Diff<M> {
    pub(crate) async fn run(self) -> Result<Vec<CaseDiff>> {
        if !self.client.is_datasets_server() {
            return Err(unsupported());
        }
        self.from.check()?;
        self.to.check()?;
        let mut call = Call::new(Method::GET, dataset_path(&self.dataset, "diff/")?);
        call.query.push(("from", self.from.to_string()));
        call.query.push(("to", self.to.to_string()));
        self.client.json(call, "diff").await
    }
}
finish!(Diff => Vec<CaseDiff>);
