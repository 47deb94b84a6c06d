//! Entra ID's `AADSTS` error codes: read from any text the authority, WAM or the Linux broker
//! sends, and the few this crate gives a meaning of its own.

/// The codes that mean the app registration is wrong for this client: it does not list the
/// redirect URI (`AADSTS50011`), lists none (`AADSTS500113`), or treats the app as a
/// confidential client (`AADSTS7000218`).
pub(crate) const REDIRECT_URI_CODES: [&str; 3] = ["AADSTS50011", "AADSTS500113", "AADSTS7000218"];

/// The code for "the app registration treats this app as a confidential client".
pub(crate) const CONFIDENTIAL_CLIENT: &str = "AADSTS7000218";

/// The code for "the user declined to consent".
pub(crate) const USER_DECLINED_CONSENT: &str = "AADSTS65004";

/// The distinct `AADSTS<digits>` codes in a text, in order of appearance. A bare `AADSTS`
/// without digits is not a code.
pub(crate) fn aadsts_codes(text: &str) -> Vec<String> {
    let mut codes: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("AADSTS") {
        let after = &rest[at + "AADSTS".len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            let code = format!("AADSTS{}", &after[..digits]);
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        rest = &after[digits..];
    }
    codes
}

/// Whether one of `codes` says the redirect URI (or the public-client setting) is wrong.
pub(crate) fn names_redirect_uri_problem(codes: &[String]) -> bool {
    codes
        .iter()
        .any(|c| REDIRECT_URI_CODES.contains(&c.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_aadsts_codes() {
        assert_eq!(
            aadsts_codes("AADSTS50011: x. AADSTS7000218: y AADSTS50011"),
            ["AADSTS50011", "AADSTS7000218"]
        );
        assert!(aadsts_codes("nothing").is_empty());
    }

    #[test]
    fn aadsts_codes_are_found_once_each_and_bare_prefixes_ignored() {
        assert_eq!(
            aadsts_codes("AADSTS50011 x AADSTS7000218, AADSTS50011 AADSTS AADSTSx"),
            ["AADSTS50011", "AADSTS7000218"]
        );
        assert!(aadsts_codes("nothing here").is_empty());
    }

    #[test]
    fn the_redirect_uri_codes() {
        for code in ["AADSTS50011", "AADSTS500113", CONFIDENTIAL_CLIENT] {
            assert!(names_redirect_uri_problem(&[code.to_owned()]), "{code}");
        }
        assert!(!names_redirect_uri_problem(&[
            USER_DECLINED_CONSENT.to_owned()
        ]));
        assert!(!names_redirect_uri_problem(&[]));
    }
}
