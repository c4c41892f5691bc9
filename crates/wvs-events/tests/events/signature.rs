//! Standard Webhooks signing and verification.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use wvs_events::SigningSecret;
use wvs_events::signature::{SignatureError, signature_header, verify};

/// The example of the Standard Webhooks specification, checked by hand with Python's `hmac`.
const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SPEC_TS: i64 = 1614265330;
const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

/// The formula of the specification, written out here independently of the crate.
fn by_hand(secret: &str, id: &str, ts: i64, body: &[u8]) -> String {
    let key = BASE64
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

#[test]
fn signs_the_specification_example() {
    let secret = SigningSecret::parse(SPEC_SECRET).unwrap();
    assert_eq!(secret.sign(SPEC_ID, SPEC_TS, SPEC_BODY), SPEC_SIGNATURE);
    assert_eq!(
        by_hand(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY),
        SPEC_SIGNATURE
    );
}

#[test]
fn a_signature_made_by_the_crate_verifies_and_matches_the_formula() {
    let secret = SigningSecret::generate();
    let body = br#"{"object_kind":"push"}"#;
    let signature = secret.sign("msg_1", 1_700_000_000, body);
    assert_eq!(
        signature,
        by_hand(&secret.expose(), "msg_1", 1_700_000_000, body)
    );
    verify(
        &[secret],
        "msg_1",
        "1700000000",
        &signature,
        body,
        1_700_000_010,
    )
    .unwrap();
}

#[test]
fn a_changed_body_does_not_verify() {
    let secret = SigningSecret::parse(SPEC_SECRET).unwrap();
    let changed = br#"{"test": 2432232315}"#;
    let result = verify(
        &[secret],
        SPEC_ID,
        "1614265330",
        SPEC_SIGNATURE,
        changed,
        SPEC_TS,
    );
    assert_eq!(result, Err(SignatureError::NoMatch));
}

#[test]
fn a_wrong_key_does_not_verify() {
    let other = SigningSecret::generate();
    let result = verify(
        &[other],
        SPEC_ID,
        "1614265330",
        SPEC_SIGNATURE,
        SPEC_BODY,
        SPEC_TS,
    );
    assert_eq!(result, Err(SignatureError::NoMatch));
}

#[test]
fn a_timestamp_ten_minutes_old_or_ahead_does_not_verify() {
    let secret = SigningSecret::parse(SPEC_SECRET).unwrap();
    let ten_minutes = 600;
    let old = verify(
        std::slice::from_ref(&secret),
        SPEC_ID,
        "1614265330",
        SPEC_SIGNATURE,
        SPEC_BODY,
        SPEC_TS + ten_minutes,
    );
    assert_eq!(
        old,
        Err(SignatureError::TimestampOutOfTolerance(ten_minutes))
    );
    let ahead = verify(
        &[secret],
        SPEC_ID,
        "1614265330",
        SPEC_SIGNATURE,
        SPEC_BODY,
        SPEC_TS - ten_minutes,
    );
    assert_eq!(
        ahead,
        Err(SignatureError::TimestampOutOfTolerance(-ten_minutes))
    );
}

#[test]
fn any_of_several_signatures_and_secrets_may_match() {
    let old = SigningSecret::parse(SPEC_SECRET).unwrap();
    let new = SigningSecret::generate();
    let header = signature_header(&[new.clone(), old.clone()], SPEC_ID, SPEC_TS, SPEC_BODY);
    assert_eq!(header.split(' ').count(), 2);
    // A receiver that knows only the old key accepts the rotated delivery...
    verify(&[old], SPEC_ID, "1614265330", &header, SPEC_BODY, SPEC_TS).unwrap();
    // ...and so does one that knows only the new key; other versions are ignored.
    let with_v2 = format!("v2,AAAA {header}");
    verify(&[new], SPEC_ID, "1614265330", &with_v2, SPEC_BODY, SPEC_TS).unwrap();
}

#[test]
fn malformed_secrets_and_timestamps_are_refused_without_echoing_them() {
    assert_eq!(
        SigningSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        Err(SignatureError::MissingPrefix)
    );
    assert_eq!(
        SigningSecret::parse("whsec_!!!"),
        Err(SignatureError::InvalidBase64)
    );
    assert_eq!(
        SigningSecret::parse("whsec_"),
        Err(SignatureError::EmptyKey)
    );
    let secret = SigningSecret::parse(SPEC_SECRET).unwrap();
    assert!(!format!("{secret:?}").contains("MfKQ9r8G"));
    let result = verify(
        &[secret],
        SPEC_ID,
        "yesterday",
        SPEC_SIGNATURE,
        SPEC_BODY,
        SPEC_TS,
    );
    assert_eq!(result, Err(SignatureError::InvalidTimestamp));
}

#[test]
fn generated_secrets_round_trip_through_their_whsec_form() {
    let secret = SigningSecret::generate();
    let exposed = secret.expose();
    assert!(exposed.starts_with("whsec_"));
    assert_eq!(SigningSecret::parse(&exposed).unwrap(), secret);
    assert_ne!(SigningSecret::generate(), secret);
}
