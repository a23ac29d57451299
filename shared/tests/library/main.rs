//! The library's own tests beyond its unit tests, in one binary so the SDK is linked once:
//! AWS's answers that moto cannot give, served by `aws-smithy-mocks` (`mocked_*`), bad
//! input at every parser (`bad_input`), and the layers' one-way dependencies (`layers`).
//! None needs anything outside the process.

mod bad_input;
mod fuzz_corpus;
mod layers;
mod mocked_access;
mod mocked_alarms;
mod mocked_deletion;
mod mocked_iam;
mod mocked_reach;
mod mocked_recent;
mod mocked_security_hub;
mod mocked_task_doctor;
mod mocked_trails;
mod stopped_reasons;
