//! `Event::from_http`: both header flavors, token and signature checks.

use http::{HeaderMap, HeaderName, HeaderValue};
use wvs_events::headers::DeliveryHeaders;
use wvs_events::{Check, EventKind, Expect, Flavor, ReceiveError, SigningSecret, samples};

const NOW: i64 = 1_700_000_000;

/// The headers WVS would send for the `push` sample.
fn delivery(
    flavor: Flavor,
    token: Option<&str>,
    secrets: &[SigningSecret],
) -> (HeaderMap, Vec<u8>) {
    let sample = samples::find("push").unwrap();
    let body = sample.json.as_bytes().to_vec();
    let built = DeliveryHeaders {
        flavor,
        event_header: sample.header(),
        token,
        event_uuid: "0d5c1a9e-8f0e-4c55-9b33-3f1f1a2b3c4d",
        webhook_uuid: "7a9c2f0e-1111-4c55-9b33-3f1f1a2b3c4d",
        instance: "https://wvs.example.com",
        idempotency_key: "01890a5d-ac96-774b-bcce-b302099a8057",
        signing_secrets: secrets,
        timestamp: NOW,
        version: "1.2.3",
    }
    .build(&body);
    let mut headers = HeaderMap::new();
    for (name, value) in built {
        headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(&value).unwrap(),
        );
    }
    (headers, body)
}

#[test]
fn reads_both_flavors() {
    for flavor in Flavor::ALL {
        let (headers, body) = delivery(flavor, None, &[]);
        let incoming = wvs_events::Event::from_http(&headers, &body, &Expect::nothing()).unwrap();
        assert_eq!(incoming.flavor, flavor);
        assert_eq!(incoming.event.kind(), EventKind::Push);
        assert_eq!(incoming.header, "Push Hook");
        assert_eq!(
            incoming.idempotency_key.as_deref(),
            Some("01890a5d-ac96-774b-bcce-b302099a8057")
        );
        assert_eq!(
            incoming.instance.as_deref(),
            Some("https://wvs.example.com")
        );
        assert!(incoming.event_uuid.is_some() && incoming.webhook_uuid.is_some());
        assert_eq!(
            (incoming.token, incoming.signature),
            (Check::NotChecked, Check::NotChecked)
        );
    }
}

#[test]
fn delivery_headers_follow_the_flavor() {
    let (wvs, _) = delivery(Flavor::Wvs, Some("s3cret"), &[]);
    assert_eq!(wvs["X-WVS-Event"], "Push Hook");
    assert_eq!(wvs["X-WVS-Token"], "s3cret");
    assert_eq!(wvs["User-Agent"], "WVS/1.2.3");
    assert!(!wvs.contains_key("X-Gitlab-Event") && !wvs.contains_key("webhook-signature"));
    let (gitlab, _) = delivery(Flavor::Gitlab, None, &[]);
    assert_eq!(gitlab["X-Gitlab-Event"], "Push Hook");
    assert_eq!(gitlab["User-Agent"], "GitLab/1.2.3");
    assert_eq!(gitlab["Content-Type"], "application/json");
    assert!(!gitlab.contains_key("X-Gitlab-Token"));
}

#[test]
fn checks_the_token() {
    let (headers, body) = delivery(Flavor::Gitlab, Some("s3cret"), &[]);
    let ok =
        wvs_events::Event::from_http(&headers, &body, &Expect::nothing().token("s3cret")).unwrap();
    assert_eq!(ok.token, Check::Valid);
    let wrong = wvs_events::Event::from_http(&headers, &body, &Expect::nothing().token("other"));
    assert!(matches!(wrong, Err(ReceiveError::WrongToken)));
    let (unsent, body) = delivery(Flavor::Wvs, None, &[]);
    let missing = wvs_events::Event::from_http(&unsent, &body, &Expect::nothing().token("s3cret"));
    let error = missing.unwrap_err();
    assert!(matches!(error, ReceiveError::MissingToken) && error.is_unauthorized());
}

#[test]
fn checks_the_signature() {
    let secret = SigningSecret::generate();
    let (headers, body) = delivery(Flavor::Wvs, None, std::slice::from_ref(&secret));
    assert_eq!(headers["webhook-id"], headers["Idempotency-Key"]);
    let expect = Expect::nothing()
        .signing_secret(secret.clone())
        .at(NOW + 30);
    let ok = wvs_events::Event::from_http(&headers, &body, &expect).unwrap();
    assert_eq!(ok.signature, Check::Valid);

    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let error = wvs_events::Event::from_http(&headers, &tampered, &expect).unwrap_err();
    assert!(matches!(error, ReceiveError::BadSignature(_)) && error.is_unauthorized());

    let late = Expect::nothing().signing_secret(secret).at(NOW + 600);
    assert!(wvs_events::Event::from_http(&headers, &body, &late).is_err());

    let (unsigned, body) = delivery(Flavor::Wvs, None, &[]);
    let expect = Expect::nothing()
        .signing_secret(SigningSecret::generate())
        .at(NOW);
    let error = wvs_events::Event::from_http(&unsigned, &body, &expect).unwrap_err();
    assert!(matches!(error, ReceiveError::MissingSignature));
}

#[test]
fn refuses_a_missing_or_mismatched_event_header() {
    let (mut headers, body) = delivery(Flavor::Wvs, None, &[]);
    headers.insert("X-WVS-Event", HeaderValue::from_static("Issue Hook"));
    let error = wvs_events::Event::from_http(&headers, &body, &Expect::nothing()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the event header is `Issue Hook` but the body is a `push` event"
    );
    assert!(!error.is_unauthorized());
    headers.remove("X-WVS-Event");
    let error = wvs_events::Event::from_http(&headers, &body, &Expect::nothing()).unwrap_err();
    assert!(matches!(error, ReceiveError::MissingEventHeader));
}

#[test]
fn accepts_system_hook_and_legacy_build_hook_headers() {
    let (mut headers, body) = delivery(Flavor::Gitlab, None, &[]);
    headers.insert("X-Gitlab-Event", HeaderValue::from_static("System Hook"));
    assert!(wvs_events::Event::from_http(&headers, &body, &Expect::nothing()).is_ok());
    let build = samples::find("build").unwrap().json.as_bytes();
    headers.insert("X-Gitlab-Event", HeaderValue::from_static("Build Hook"));
    let incoming = wvs_events::Event::from_http(&headers, build, &Expect::nothing()).unwrap();
    assert_eq!(incoming.event.kind(), EventKind::Build);
}
