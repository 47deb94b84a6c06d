//! `-v` / `-vv` / `RUST_LOG`: the libraries' `tracing` events as text on standard error, for
//! troubleshooting. Off by default, so standard output and error stay as scripts expect.

use tracing_subscriber::EnvFilter;

/// The variable whose filter (`tracing_subscriber`'s `EnvFilter` syntax, as `RUST_LOG`
/// everywhere) replaces what `-v` selects.
pub(crate) const FILTER_ENV: &str = "RUST_LOG";

/// The filter for `verbosity` (the number of `-v`) when `RUST_LOG` is not set: nothing at 0;
/// the mr-auth crates' debug events (and everyone's warnings) at 1; their trace events and
/// the HTTP stack's debug events at 2 or more.
fn directives(verbosity: u8) -> Option<&'static str> {
    match verbosity {
        0 => None,
        // `mr_auth` covers every crate whose name starts with it (mr_auth_core, ...).
        1 => Some("warn,mr_auth=debug"),
        _ => Some("debug,mr_auth=trace"),
    }
}

/// Installs the stderr subscriber: `RUST_LOG` when it is set and not empty, else the level
/// `-v` asks for, else nothing.
///
/// A `RUST_LOG` that does not parse is reported on stderr and the `-v` level used instead,
/// rather than failing the command.
pub(crate) fn init(verbosity: u8) {
    let from_env = std::env::var(FILTER_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty());
    let filter = match from_env {
        Some(text) => match EnvFilter::try_new(&text) {
            Ok(filter) => Some(filter),
            Err(e) => {
                eprintln!("mr-auth: warning: ignoring {FILTER_ENV}={text:?}: {e}");
                directives(verbosity).map(EnvFilter::new)
            }
        },
        None => directives(verbosity).map(EnvFilter::new),
    };
    let Some(filter) = filter else {
        return;
    };
    // `try_init`: a second subscriber (impossible in this binary) would be a bug, not a reason
    // to fail the command.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_levels() {
        assert_eq!(directives(0), None);
        for level in 1..=3 {
            let text = directives(level).unwrap();
            EnvFilter::try_new(text).unwrap();
        }
        assert!(directives(1).unwrap().contains("mr_auth=debug"));
        assert!(directives(2).unwrap().contains("mr_auth=trace"));
        assert_eq!(directives(7), directives(2));
    }
}
