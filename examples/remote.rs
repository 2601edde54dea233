//! Point the client at a remote server, Logfire's or a `datasets-server`,
//! configured from the environment:
//!
//! ```sh
//! DATASETS_API_KEY=pylf_v1_eu_... cargo run --example remote            # Logfire, EU region
//! DATASETS_API_KEY=dsk_... DATASETS_BASE_URL=http://127.0.0.1:8000 cargo run --example remote
//! ```
//!
//! It ensures the seed's dataset exists with the declared schemas and lists
//! what the project holds. `LOGFIRE_API_KEY` works in place of
//! `DATASETS_API_KEY`.

mod common;

use common::QaGoldenSet;
use datasets::DatasetsClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = match DatasetsClient::from_env() {
        Ok(client) => client,
        Err(err) => {
            eprintln!(
                "{err}\n\nset DATASETS_API_KEY (and DATASETS_BASE_URL for a self-hosted server); see the top of examples/remote.rs"
            );
            std::process::exit(2);
        }
    };
    println!("talking to {}", client.base_url());
    let ensured = client.dataset::<QaGoldenSet>().ensure().await?;
    println!("{:?} {}", ensured.action, ensured.dataset.name);
    for dataset in client.list_datasets().await? {
        println!("  {:<30} {:>6} cases", dataset.name, dataset.case_count);
    }
    Ok(())
}
