use std::fmt;

/// How a token is presented to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenType {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// A proof-of-possession (signed HTTP request) token: `Authorization: PoP <token>`.
    Pop,
}

impl TokenType {
    /// The scheme written before the token in the `Authorization` header.
    pub fn scheme(self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
            Self::Pop => "PoP",
        }
    }

    /// Parses the `token_type` of a token response (case-insensitive).
    pub(crate) fn parse(value: &str) -> Option<Self> {
        if value.eq_ignore_ascii_case("bearer") {
            Some(Self::Bearer)
        } else if value.eq_ignore_ascii_case("pop") {
            Some(Self::Pop)
        } else {
            None
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Bearer => "Bearer",
            Self::Pop => "pop",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_scheme() {
        assert_eq!(TokenType::parse("bearer"), Some(TokenType::Bearer));
        assert_eq!(TokenType::parse("PoP"), Some(TokenType::Pop));
        assert_eq!(TokenType::parse("mac"), None);
        assert_eq!(TokenType::Pop.scheme(), "PoP");
        assert_eq!(TokenType::Pop.to_string(), "pop");
    }
}
