//! libFuzzer's entry: the property itself is `properties/parsers.rs`, which the library's
//! tests also run over the corpus and clippy checks with the workspace.

#![no_main]

#[path = "../properties/parsers.rs"]
mod properties;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| properties::parsers(bytes));
