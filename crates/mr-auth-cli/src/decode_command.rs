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
        None | Some("-") => read_token(std::io::stdin().lock())?,
        Some(token) => token.to_owned(),
    };
    print!("{}", render(token.trim(), args.output, SystemClock.now())?);
    Ok(())
}

/// The token from `input`: at most [`MAX_TOKEN_BYTES`], one byte more is read to tell a larger
/// input, which is refused rather than cut (a cut token would be reported as "not a JWT").
fn read_token(input: impl std::io::Read) -> Result<String, CliError> {
    let mut token = String::new();
    input
        .take(MAX_TOKEN_BYTES + 1)
        .read_to_string(&mut token)
        .map_err(|e| {
            CliError::bad_input(format!("could not read the token from standard input: {e}"))
        })?;
    if token.len() as u64 > MAX_TOKEN_BYTES {
        return Err(CliError::bad_input(format!(
            "the input on standard input is larger than {} KiB ({MAX_TOKEN_BYTES} bytes), the \
             most `decode` reads; a JWT is far smaller: give the token alone",
            MAX_TOKEN_BYTES / 1024
        )));
    }
    Ok(token)
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
    fn input_over_the_limit_is_refused_not_cut() {
        let at_limit = "a".repeat(usize::try_from(MAX_TOKEN_BYTES).unwrap());
        assert_eq!(
            read_token(at_limit.as_bytes()).unwrap().len(),
            at_limit.len()
        );
        let over = format!("{at_limit}b");
        let error = read_token(over.as_bytes()).unwrap_err();
        assert_eq!(error.exit_code(), crate::cli_error::EXIT_BAD_INPUT);
        assert!(
            error
                .one_line()
                .contains("larger than 64 KiB (65536 bytes)"),
            "{error}"
        );
    }

    #[test]
    fn bad_tokens_are_bad_input() {
        let error = render("notajwt", DecodeOutput::Text, OffsetDateTime::UNIX_EPOCH).unwrap_err();
        assert_eq!(error.exit_code(), crate::cli_error::EXIT_BAD_INPUT);
        assert!(error.one_line().contains("three dot-separated segments"));
    }
}
