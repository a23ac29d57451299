//! The fuzzer's property (`fuzz/properties/parsers.rs`) over every input of its kept corpus
//! (`fuzz/corpus/parsers`): what `make fuzz` starts from, replayed by every `cargo test`.

#[path = "../../../fuzz/properties/parsers.rs"]
mod properties;

#[test]
fn every_kept_fuzz_input_holds_the_parsers_property() {
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/parsers");
    let mut replayed = 0;
    for entry in std::fs::read_dir(corpus).expect("the kept corpus") {
        let path = entry.expect("a corpus entry").path();
        let bytes = std::fs::read(&path).expect("a corpus input");
        properties::parsers(&bytes);
        // Cut and flipped, as the fuzzer's first mutations would.
        properties::parsers(&bytes[..bytes.len() / 2]);
        properties::parsers(&bytes.iter().map(|b| b ^ 0x20).collect::<Vec<_>>());
        replayed += 1;
    }
    assert!(replayed >= 30, "only {replayed} inputs in {corpus}");
}
