use crate::EmulatorBuilder;

/// The local Mixed Reality STS. Start one with [`Emulator::builder`].
///
/// ```no_run
/// # async fn run() -> Result<(), mr_auth_emulator::Error> {
/// use mr_auth_emulator::Emulator;
///
/// let account = uuid::Uuid::parse_str("87e9abb1-79b9-4502-bbae-cfae8c610f23").unwrap();
/// let emulator = Emulator::builder().account(account, "my-account-key").start().await?;
/// println!("sts endpoint: {}", emulator.endpoint());
/// let ca_pem = emulator.ca_pem().expect("tls is on by default");
/// # let _ = ca_pem;
/// emulator.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct Emulator;

impl Emulator {
    /// A builder with the defaults: HTTPS with a fresh local CA on `127.0.0.1:0`, no path
    /// prefix, 24 h tokens, AAD tokens refused, no faults, [`Limits::default`](crate::Limits).
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_starts_from_defaults() {
        let builder = Emulator::builder();
        assert!(format!("{builder:?}").contains("tls: true"));
    }
}
