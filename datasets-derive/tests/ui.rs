//! Compile-time behaviour of `#[derive(DatasetSchema)]` and the typed
//! handles: `tests/ui/pass` must compile, each of `tests/ui/fail` must fail
//! with the committed `.stderr`. Compiler output changes between Rust
//! versions: after a toolchain change, regenerate with `TRYBUILD=overwrite`
//! and review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
