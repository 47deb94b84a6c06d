#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mr_auth_broker::fuzzing::device_code_responses(data));
