#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mr_auth_core::fuzzing::jwt(data));
