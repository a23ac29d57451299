//! The property the fuzzer holds every parser an invocation goes through to, on arbitrary
//! bytes: the JSON the runtime reads, the EventBridge envelope and CloudTrail detail, a
//! step's deletion state, and an IAM trust policy (plain or URL-encoded). None may panic;
//! every rejection says why; a deletion state survives the JSON trip between two steps
//! unchanged.
//!
//! One file for two builds: the fuzz target (`fuzz_targets/parsers.rs`) runs it under
//! libFuzzer, and the library's tests (`shared/tests/library/fuzz_corpus.rs`) run it over
//! the kept corpus, so that clippy checks it with the workspace and every `cargo test`
//! replays what the fuzzer found.

use ecs_warden::domain::trust_policy::TrustPolicy;
use ecs_warden::handlers::slr_deletion::DeletionState;
use ecs_warden::invocation::events::{accept, parse_api_call};
use serde_json::Value;

/// Holds the property on `bytes`; panics where it does not.
pub fn parsers(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        match TrustPolicy::parse(text) {
            Ok(policy) => {
                let _ = policy.statements();
                let _ = policy.grants("ecs.amazonaws.com");
                let again = TrustPolicy::parse(&policy.to_json()).expect("its own JSON parses");
                assert_eq!(again.to_json(), policy.to_json());
            }
            Err(why) => assert!(!why.to_string().is_empty()),
        }
    }
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(e) => return assert!(!e.to_string().is_empty()),
    };
    match parse_api_call(value.clone()) {
        Ok(event) => {
            if let Err(e) = accept(&event, "aws.iam", &["CreateRole", "DeleteRole"]) {
                assert!(!e.to_string().is_empty());
            }
            let _ = event.detail.request::<Value>();
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    if let Ok(state) = serde_json::from_value::<DeletionState>(value) {
        // What the state machine carries is a step's whole answer: the state, and beside it
        // the report, whose event_id the next step reads back.
        let mut carried = serde_json::to_value(&state).expect("a state serialises");
        if let Some(id) = &state.request.event_id {
            carried["event_id"] = Value::String(id.clone());
        }
        let back: DeletionState = serde_json::from_value(carried).expect("a carried state parses");
        assert_eq!(back, state, "the state changed between two steps");
    }
}
