//! Fakes shared by the integration tests (one place, style rule 15).
#![allow(dead_code, unreachable_pub, missing_docs)] // each test file uses a different subset

pub mod fake_broker;
