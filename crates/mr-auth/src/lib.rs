//! Mixed Reality authentication for the Azure SDK for Rust.
//!
//! This facade holds no logic: it re-exports the public API of the workspace's crates.
#![forbid(unsafe_code)]

#[doc(inline)]
pub use mr_auth_core::*;
#[doc(inline)]
pub use mr_auth_credentials::*;

/// The README's Rust examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
