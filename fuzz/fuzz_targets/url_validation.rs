//! Hook URL validation and the outbound guard's address checks on arbitrary text: never a
//! panic, and a loopback or metadata literal never passes the default policy.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        wvs_hooks::fuzzing::check_hook_url(text);
        wvs_send::fuzzing::check_url_literal(text);
    }
});
