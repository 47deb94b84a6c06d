//! Entry points for the `fuzz/` crate: each runs one parser of untrusted input on arbitrary
//! bytes and must never panic. Not part of the public API (the `fuzzing` feature exists only
//! for `cargo xtask fuzz`).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use http_body_util::BodyExt as _;
use hyper::{Method, Request};
use uuid::Uuid;

use crate::{
    stats::StatsRecorder, sts_service::StsService, token_signer::TokenSigner, AadMode, Account,
    AccountKey, Fault,
};
use mr_auth_core::ManualClock;

/// The account the fuzzer's seeds address: `Bearer 87e9abb1-79b9-4502-bbae-cfae8c610f23:primary`.
const ACCOUNT_ID: Uuid = Uuid::from_u128(0x87e9abb1_79b9_4502_bbae_cfae8c610f23);

/// One service per AAD mode, built once (generating the signing key is slow).
fn services() -> &'static [Arc<StsService>; 4] {
    static SERVICES: OnceLock<[Arc<StsService>; 4]> = OnceLock::new();
    SERVICES.get_or_init(|| {
        let service = |mode: AadMode| {
            let account = Account::new(
                ACCOUNT_ID,
                AccountKey::new("primary").expect("a fixed key is valid"),
            )
            .expect("a fixed account is valid");
            Arc::new(StsService {
                accounts: HashMap::from([(ACCOUNT_ID, account)]),
                aad: mode,
                signer: TokenSigner::generate().expect("the signing key generates"),
                // 2025-01-01: the seeds' AAD tokens are checked against this time.
                clock: Arc::new(ManualClock::at_fixed_start()),
                token_lifetime: Duration::from_secs(86_400),
                issuer: "https://127.0.0.1:1/".to_owned(),
                audience: "https://sts.mixedreality.azure.com".to_owned(),
                prefix: String::new(),
                discovery: "{}".to_owned(),
                max_body_bytes: 4096,
                faults: Mutex::new(VecDeque::new()),
                stats: StatsRecorder::new(8),
            })
        };
        [
            service(AadMode::Disabled),
            service(AadMode::ClaimsChecked {
                issuer: "https://login.microsoftonline.com/tenant/v2.0".to_owned(),
                audience: "https://sts.mixedreality.azure.com".to_owned(),
            }),
            service(AadMode::Permissive),
            service(AadMode::SignatureChecked {
                issuer: "https://login.microsoftonline.com/tenant/v2.0".to_owned(),
                audience: "https://sts.mixedreality.azure.com".to_owned(),
                keys: crate::AadSigningKeys::from_jwks(
                    TokenSigner::generate()
                        .expect("the signing key generates")
                        .jwks(),
                )
                .expect("a signer's key set is usable"),
            }),
        ]
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        // Paused time: a truncated body's flush delay passes at once instead of in real time.
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a current-thread runtime builds")
    })
}

/// Serves one request made of fuzzer bytes. The first byte picks the AAD mode and the fault
/// applied (none, each status/body fault, a dropped connection; never a delay); the rest is
/// text: a request line `METHOD TARGET`, then `name: value` header lines. Requests that are
/// not valid HTTP (hyper's parser refuses them before the service sees them) are skipped.
pub fn request(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let service = Arc::clone(&services()[usize::from(selector % 4)]);
    let fault = match selector / 4 % 8 {
        1 => Some(Fault::Status {
            status: 429,
            retry_after_secs: Some(1),
        }),
        2 => Some(Fault::Status {
            status: 401,
            retry_after_secs: None,
        }),
        3 => Some(Fault::DropConnection),
        4 => Some(Fault::TruncatedBody),
        5 => Some(Fault::GarbageBody),
        6 => Some(Fault::TokenWithoutExp),
        _ => None,
    };
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.split('\n');
    let mut request_line = lines.next().unwrap_or_default().splitn(2, ' ');
    let (Ok(method), target) = (
        Method::from_bytes(request_line.next().unwrap_or_default().as_bytes()),
        request_line.next().unwrap_or_default().trim_end(),
    ) else {
        return;
    };
    let mut builder = Request::builder().method(method).uri(target);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            builder = builder.header(name.trim(), value.trim());
        }
    }
    let Ok(request) = builder.body(()) else {
        return;
    };
    service.clear_faults();
    service.push_faults(fault);
    runtime().block_on(async move {
        if let Ok(response) = service.handle(request).await {
            // The faults that damage a body do so while it is read.
            let _ = response.into_body().collect().await;
        }
    });
}
