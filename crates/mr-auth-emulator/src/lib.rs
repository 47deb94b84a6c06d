#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// docs.rs (`--cfg docsrs`, see Cargo.toml) marks feature-gated items with their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod aad_mode;
mod aad_signing_keys;
mod account;
mod emulator;
mod emulator_builder;
mod error;
mod fault;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod limits;
mod local_ca;
mod response_body;
mod running_emulator;
mod server;
mod stats;
mod sts_service;
mod token_signer;

pub use aad_mode::AadMode;
pub use aad_signing_keys::AadSigningKeys;
pub use account::Account;
pub use emulator::Emulator;
pub use emulator_builder::{EmulatorBuilder, DEFAULT_AUDIENCE, DEFAULT_TOKEN_LIFETIME};
pub use error::{Error, ErrorKind, Result};
pub use fault::Fault;
pub use limits::Limits;
pub use local_ca::LocalCa;
pub use running_emulator::RunningEmulator;
pub use stats::{CredentialKind, Outcome, RequestSummary, Stats};

// The workspace's one account key and one clock, re-exported for the builder's callers.
pub use mr_auth_core::{AccountKey, Clock, SystemClock};

/// The `api-version` the emulator serves (and the only one the real STS knows).
pub const API_VERSION: &str = sts_service::API_VERSION;
