#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| userhub_api::fuzzing::scim_filter(data));
