#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| userhub_api::fuzzing::admin_body(data));
