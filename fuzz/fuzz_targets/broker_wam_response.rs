#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mr_auth_broker::fuzzing::wam_response_properties(data));
