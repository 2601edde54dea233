//! Two Rust types that declare the same dataset name compile (they may live
//! in different modules of one crate), but a handle on either refuses every
//! request before sending it, naming both types: otherwise each `ensure()`
//! would silently overwrite the other's schemas.

mod support;

use datasets::{DatasetSchema, EmbeddedServer, Error};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod questions {
    use super::*;

    #[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
    pub(crate) struct Question {
        pub(crate) text: String,
    }

    #[derive(DatasetSchema)]
    #[dataset(name = "shared-name")]
    #[allow(dead_code)]
    pub(crate) struct Questions {
        inputs: Question,
    }
}

mod prompts {
    use super::*;

    #[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
    pub(crate) struct Prompt {
        pub(crate) prompt: String,
        pub(crate) temperature: f64,
    }

    #[derive(DatasetSchema)]
    #[dataset(name = "shared-name")]
    #[allow(dead_code)]
    pub(crate) struct Prompts {
        inputs: Prompt,
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
struct Other {
    x: i64,
}

#[derive(DatasetSchema)]
#[dataset(name = "unique-name")]
#[allow(dead_code)]
struct Unique {
    inputs: Other,
}

fn assert_names_both(err: &Error) {
    let Error::InvalidArgument(message) = err else {
        panic!("expected InvalidArgument, got {err:?}");
    };
    assert!(message.contains("`shared-name`"), "{message}");
    assert!(
        message.contains("duplicate_declarations::questions::Questions"),
        "{message}"
    );
    assert!(
        message.contains("duplicate_declarations::prompts::Prompts"),
        "{message}"
    );
}

#[tokio::test]
async fn handles_on_a_name_two_types_declare_refuse_before_sending() {
    let server = EmbeddedServer::start().unwrap();
    let client = support::client(&server);
    let err = client
        .dataset::<questions::Questions>()
        .ensure()
        .await
        .unwrap_err();
    assert_names_both(&err);
    let err = client
        .dataset::<prompts::Prompts>()
        .list_cases()
        .await
        .unwrap_err();
    assert_names_both(&err);
    // Nothing was sent: the dataset does not exist.
    assert!(client.list_datasets().await.unwrap().is_empty());
    // A type whose name is its own works as ever.
    client.dataset::<Unique>().ensure().await.unwrap();
    assert_eq!(client.list_datasets().await.unwrap().len(), 1);
}

#[test]
fn the_blocking_handle_refuses_too() {
    let server = EmbeddedServer::start().unwrap();
    let client = datasets::blocking::DatasetsClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .unwrap();
    let err = client
        .dataset::<prompts::Prompts>()
        .ensure()
        .send()
        .unwrap_err();
    assert_names_both(&err);
    assert!(client.list_datasets().send().unwrap().is_empty());
}
