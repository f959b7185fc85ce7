#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| userhub_api::fuzzing::scim_patch_path(data));
