//! Fakes shared by this crate's integration tests that have not moved to
//! `mr-auth-test-support` yet (the mock authority and the browsers).
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    reason = "each test file uses a different subset"
)]

pub mod browsers;
pub mod mock_authority;
