extern crate datasets as evals;

use evals::DatasetSchema;

#[derive(DatasetSchema)]
#[dataset(name = "renamed", crate = "evals")]
struct Renamed {
    inputs: String,
}

mod reexported {
    pub use evals::__private;
}

#[derive(DatasetSchema)]
#[dataset(name = "through-a-module", crate = "crate::reexported")]
struct ThroughModule {
    inputs: String,
}

fn main() {
    assert_eq!(<Renamed as evals::DatasetSchema>::NAME, "renamed");
    assert_eq!(<ThroughModule as evals::DatasetSchema>::NAME, "through-a-module");
}
