//! Every check of a token request before a token is issued: body size, `api-version`,
//! `X-MRC-CV`, the account, the credential.

use hyper::{
    header::{self, HeaderMap, HeaderValue},
    StatusCode,
};
use uuid::Uuid;

use super::{
    aad_token_check::check_aad_token, correlation::is_correlation_vector, rejection::Rejection,
    StsService, API_VERSION, X_MRC_CV,
};
use crate::{Account, CredentialKind};

pub(super) fn classify_credential(headers: &HeaderMap) -> CredentialKind {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return CredentialKind::Missing;
    };
    match value.to_str().ok().and_then(bearer_value) {
        Some(credential) if credential.contains(':') => CredentialKind::AccountKey,
        Some(credential) if credential.split('.').count() == 3 => CredentialKind::AadToken,
        _ => CredentialKind::Unrecognized,
    }
}

pub(super) fn bearer_value(header: &str) -> Option<&str> {
    let (scheme, value) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| value.trim())
        .filter(|v| !v.is_empty())
}

impl StsService {
    /// Every check of a token request, in order: body size, `api-version`, `X-MRC-CV`, the
    /// account id, the account, the credential.
    pub(super) fn authorize(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        account_segment: &str,
    ) -> Result<(&Account, CredentialKind), Rejection> {
        let declared_body = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if declared_body > self.max_body_bytes {
            return Err(Rejection::status(StatusCode::PAYLOAD_TOO_LARGE));
        }

        let mut api_version = None;
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if name.eq_ignore_ascii_case("api-version") {
                api_version = Some(value);
            }
        }
        match api_version.as_deref() {
            None => {
                return Err(Rejection::bad_request(
                    "Invalid request: the api-version query parameter is required; use 2019-02-28-preview",
                ))
            }
            Some(API_VERSION) => {}
            Some(_) => {
                return Err(Rejection::bad_request(
                    "Invalid request: unsupported api-version; use 2019-02-28-preview",
                ))
            }
        }

        match headers.get(&X_MRC_CV).map(HeaderValue::to_str) {
            None => {
                return Err(Rejection::bad_request(
                    "Invalid request: the X-MRC-CV header is required",
                ))
            }
            Some(Ok(cv)) if is_correlation_vector(cv) => {}
            Some(_) => {
                return Err(Rejection::bad_request(
                    "Invalid request: the X-MRC-CV header is not a correlation vector (22 base64 characters)",
                ))
            }
        }

        let Ok(account_id) = Uuid::try_parse(account_segment) else {
            return Err(Rejection::bad_request(
                "Invalid request: the account id in the path is not a guid",
            ));
        };
        let Some(account) = self.accounts.get(&account_id) else {
            return Err(Rejection::status(StatusCode::NOT_FOUND));
        };

        let Some(authorization) = headers.get(header::AUTHORIZATION) else {
            return Err(Rejection::unauthorized(
                "Invalid token: the Authorization header is required",
            ));
        };
        let Some(credential) = authorization.to_str().ok().and_then(bearer_value) else {
            return Err(Rejection::unauthorized(
                "Invalid token: use the Bearer scheme",
            ));
        };
        if let Some((id, key)) = credential.split_once(':') {
            let Ok(id) = Uuid::try_parse(id) else {
                return Err(Rejection::unauthorized(
                    "Invalid token: the account id in the credential is not a guid",
                ));
            };
            if id != account.id() {
                return Err(Rejection::unauthorized(
                    "Invalid token: the credential is for a different account than the request path",
                ));
            }
            if !account.accepts_key(key.as_bytes()) {
                return Err(Rejection::unauthorized(
                    "Invalid token: the account key is not valid",
                ));
            }
            return Ok((account, CredentialKind::AccountKey));
        }
        if credential.split('.').count() == 3 {
            check_aad_token(&self.aad, credential, self.now_secs())?;
            return Ok((account, CredentialKind::AadToken));
        }
        Err(Rejection::unauthorized(
            "Invalid token: the credential is neither <account id>:<account key> nor a jwt",
        ))
    }
}
