//! The payload parser on arbitrary bytes: it never panics, and whatever it accepts survives
//! a round trip (serialize, parse again, same value).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wvs_events::fuzzing::check_event_bytes(data);
});
