//! A request's `application/x-www-form-urlencoded` body, which carries a secret (a refresh
//! token, an authorization code and its verifier, a device code): written once into a buffer
//! of its exact size, so no reallocation leaves a copy behind, and zeroized when the last send
//! of it is dropped. Every try of a request sends the same buffer (a `Bytes` handle to it);
//! none is copied for `azure_core`.

use bytes::Bytes;
use url::form_urlencoded::Serializer;
use zeroize::Zeroize;

/// See the module documentation.
#[derive(Clone)]
pub(crate) struct FormBody(Bytes);

impl FormBody {
    /// The form of `pairs`, in this order, each name and value percent-encoded.
    pub(crate) fn new(pairs: &[(&str, &str)]) -> Self {
        let mut form = Serializer::new(String::with_capacity(max_encoded_len(pairs)));
        form.extend_pairs(pairs);
        Self(Bytes::from_owner(ZeroizedOnDrop(
            form.finish().into_bytes(),
        )))
    }

    /// A handle to the body, for one send.
    pub(crate) fn bytes(&self) -> Bytes {
        self.0.clone()
    }
}

/// The most the form of `pairs` can take: every byte percent-encoded (`%XX`), `=` between
/// name and value and `&` between pairs. Reserved up front, the buffer never moves while the
/// form is written (no reallocation leaves a copy of a secret behind), without a first pass to
/// count.
fn max_encoded_len(pairs: &[(&str, &str)]) -> usize {
    pairs
        .iter()
        .map(|(name, value)| 3 * (name.len() + value.len()) + 2)
        .sum()
}

/// The form's bytes, zeroized when the last handle to them is dropped: those written (the
/// capacity beyond them never held anything).
struct ZeroizedOnDrop(Vec<u8>);

impl AsRef<[u8]> for ZeroizedOnDrop {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for ZeroizedOnDrop {
    fn drop(&mut self) {
        self.0.as_mut_slice().zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_the_encoded_pairs_in_a_buffer_of_its_exact_size() {
        let body = FormBody::new(&[
            ("client_id", "c"),
            ("scope", "https://x.example/.default offline_access"),
            (
                "claims",
                r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#,
            ),
            ("empty", ""),
        ]);
        let expected = "client_id=c&scope=https%3A%2F%2Fx.example%2F.default+offline_access&claims=%7B%22access_token%22%3A%7B%22xms_cc%22%3A%7B%22values%22%3A%5B%22cp1%22%5D%7D%7D%7D&empty=";
        assert_eq!(body.bytes(), expected.as_bytes());
        assert_eq!(
            url::form_urlencoded::parse(&body.bytes())
                .map(|(k, _)| k.into_owned())
                .collect::<Vec<_>>(),
            ["client_id", "scope", "claims", "empty"]
        );
        assert_eq!(FormBody::new(&[]).bytes(), &b""[..]);
    }

    #[test]
    fn the_buffer_holds_what_the_serializer_writes_without_growing() {
        let cases: [&[(&str, &str)]; 4] = [
            &[],
            &[("a", "")],
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "0.AXkA-_~%&=+ é漢🙂\0"),
            ],
            &[("ünïcode name", "a b+c"), ("", "="), ("x", "\u{7f}\t\n")],
        ];
        let every_char: String = (0..=0x2ff_u32).filter_map(char::from_u32).collect();
        let every_case = [("every char", every_char.as_str())];
        for pairs in cases.into_iter().chain([&every_case[..]]) {
            let mut form = Serializer::new(String::new());
            form.extend_pairs(pairs);
            assert!(max_encoded_len(pairs) >= form.finish().len(), "{pairs:?}");
        }
    }
}
