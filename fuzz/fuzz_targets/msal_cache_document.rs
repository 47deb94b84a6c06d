#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mr_auth_msal_cache::fuzzing::msal_cache_document(data));
