use crate::cli_error::CliError;
use clap::{Args, ValueEnum};
use mr_auth_core::{decode_jwt_unverified, Clock as _, SystemClock};
use serde_json::{json, Value};
use std::io::Read as _;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// Arguments of `mr-auth decode`.
#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// The JWT. Omit it or give `-` to read it from standard input (which keeps it out of
    /// shell history).
    jwt: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DecodeOutput::Text)]
    output: DecodeOutput,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DecodeOutput {
    /// Header, claims and expiry for people.
    Text,
    /// One JSON object: header, claims, expires_on, expires_in_seconds.
    Json,
}

/// The largest token read from standard input.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;

pub(crate) fn run(args: DecodeArgs) -> Result<(), CliError> {
    let token = match args.jwt.as_deref() {
        None | Some("-") => {
            let mut input = String::new();
            std::io::stdin()
                .take(MAX_TOKEN_BYTES)
                .read_to_string(&mut input)
                .map_err(|e| {
                    CliError::bad_input(format!(
                        "could not read the token from standard input: {e}"
                    ))
                })?;
            input
        }
        Some(token) => token.to_owned(),
    };
    print!("{}", render(token.trim(), args.output, SystemClock.now())?);
    Ok(())
}

fn render(token: &str, output: DecodeOutput, now: OffsetDateTime) -> Result<String, CliError> {
    let decoded = decode_jwt_unverified(token)
        .map_err(|e| CliError::bad_input(format!("cannot decode the token: {e}")))?;
    let expires = decoded
        .expires_on
        .format(&Rfc3339)
        .map_err(|e| CliError::other(format!("cannot format the expiry: {e}")))?;
    let left = (decoded.expires_on - now).whole_seconds();
    Ok(match output {
        DecodeOutput::Json => {
            let value = json!({
                "header": Value::Object(decoded.header),
                "claims": Value::Object(decoded.claims),
                "expires_on": expires,
                "expires_in_seconds": left,
            });
            format!("{value:#}\n")
        }
        DecodeOutput::Text => {
            let when = if left >= 0 {
                format!("in {left} s")
            } else {
                format!("expired {} s ago", -left)
            };
            format!(
                "header: {:#}\nclaims: {:#}\nexpires: {expires} ({when})\n",
                Value::Object(decoded.header),
                Value::Object(decoded.claims)
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // {"alg":"none"} . {"aid":"a","exp":1700000000}
    const TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJhaWQiOiJhIiwiZXhwIjoxNzAwMDAwMDAwfQ.";

    #[test]
    fn text_shows_claims_and_time_left() {
        let now = OffsetDateTime::from_unix_timestamp(1_699_999_900).unwrap();
        let text = render(TOKEN, DecodeOutput::Text, now).unwrap();
        assert!(text.contains("\"alg\": \"none\""), "{text}");
        assert!(text.contains("\"aid\": \"a\""), "{text}");
        assert!(
            text.contains("expires: 2023-11-14T22:13:20Z (in 100 s)"),
            "{text}"
        );
        let later = OffsetDateTime::from_unix_timestamp(1_700_000_060).unwrap();
        assert!(render(TOKEN, DecodeOutput::Text, later)
            .unwrap()
            .contains("expired 60 s ago"));
    }

    #[test]
    fn json_is_one_object() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let value: Value =
            serde_json::from_str(&render(TOKEN, DecodeOutput::Json, now).unwrap()).unwrap();
        assert_eq!(value["claims"]["exp"], 1_700_000_000);
        assert_eq!(value["expires_in_seconds"], 0);
        assert_eq!(value["expires_on"], "2023-11-14T22:13:20Z");
    }

    #[test]
    fn bad_tokens_are_bad_input() {
        let error = render("notajwt", DecodeOutput::Text, OffsetDateTime::UNIX_EPOCH).unwrap_err();
        assert_eq!(error.exit_code(), crate::cli_error::EXIT_BAD_INPUT);
        assert!(error.one_line().contains("three dot-separated segments"));
    }
}
