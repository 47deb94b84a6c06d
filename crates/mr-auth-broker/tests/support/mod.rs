//! Fakes shared by the integration tests (one place, style rule 15).
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    reason = "each test file uses a different subset"
)]

pub mod browsers;
pub mod fake_broker;
pub mod http;
pub mod mock_authority;
