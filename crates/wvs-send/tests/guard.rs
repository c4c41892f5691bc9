//! The SSRF guard: which destinations are refused, in every notation, and that a refused
//! delivery sends nothing.
//!
//! Only loopback addresses are ever connected to. Other ranges (private, metadata,
//! public) are checked with `check_url`, which sends nothing; names stand for any address
//! through a fixed resolver.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::Uri;
use axum::routing::any;
use tokio::net::TcpListener;
use wvs_events::Flavor;
use wvs_send::{
    AllowEntry, BoxFuture, Guard, HostResolver, OutboundPolicy, Refusal, Request, Sender,
    SenderConfig, check_url,
};

// ---------------------------------------------------------------- fixtures

/// Names for tests: each maps to fixed addresses; anything else does not resolve.
#[derive(Default)]
struct Names {
    table: HashMap<String, Vec<IpAddr>>,
    lookups: AtomicUsize,
}

impl Names {
    fn with(pairs: &[(&str, &[&str])]) -> Arc<Names> {
        let table = pairs
            .iter()
            .map(|(name, ips)| {
                let ips = ips.iter().map(|ip| ip.parse().unwrap()).collect();
                ((*name).to_owned(), ips)
            })
            .collect();
        Arc::new(Names {
            table,
            lookups: AtomicUsize::new(0),
        })
    }

    fn standard() -> Arc<Names> {
        Names::with(&[
            ("receiver.test", &["127.0.0.1"]),
            ("a.hooks.test", &["127.0.0.1"]),
            ("loopback.test", &["127.0.0.1"]),
            ("loopback6.test", &["::1"]),
            ("private.test", &["10.1.2.3"]),
            ("metadata.test", &["169.254.169.254"]),
            ("mapped.test", &["::ffff:192.168.0.1"]),
            ("all-local.test", &["127.0.0.1", "10.0.0.1", "fd00::1"]),
            ("public.test", &["93.184.216.34"]),
            ("mixed.test", &["10.0.0.1", "93.184.216.34"]),
        ])
    }
}

impl HostResolver for Names {
    fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let found = self.table.get(&host).cloned();
        Box::pin(async move {
            found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such host"))
        })
    }
}

fn guard(policy: OutboundPolicy) -> Guard {
    Guard::with_resolver(policy, Names::standard())
}

fn allow(entries: &[&str]) -> Vec<AllowEntry> {
    entries.iter().map(|entry| entry.parse().unwrap()).collect()
}

/// A receiver on `ip` that answers `200 ok` and counts the requests it gets.
struct Receiver {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        Receiver::on("127.0.0.1:0").await
    }

    async fn on(addr: &str) -> Receiver {
        let hits: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = hits.clone();
        let app = Router::new().fallback(any(move |uri: Uri| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(uri.to_string());
                "ok"
            }
        }));
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { addr, hits }
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn hits(&self) -> usize {
        self.hits.lock().unwrap().len()
    }
}

fn sender(policy: OutboundPolicy) -> Sender {
    sender_with(policy, Names::standard())
}

fn sender_with(policy: OutboundPolicy, names: Arc<Names>) -> Sender {
    let config = SenderConfig {
        instance: "https://wvs.example".to_owned(),
        outbound: policy,
        ..SenderConfig::default()
    };
    Sender::with_resolver(config, names).unwrap()
}

fn request(url: &str) -> Request<'_> {
    Request {
        url,
        flavor: Flavor::Wvs,
        event_header: "Push Hook",
        token: Some("tok-secret-1"),
        signing_secrets: &[],
        custom_headers: &[],
        url_variables: &[],
        event_uuid: "e",
        webhook_uuid: "w",
        idempotency_key: "k",
        body: bytes::Bytes::from_static(b"{}"),
        verify_tls: true,
        system_hook: false,
    }
}

fn system(request: Request<'_>) -> Request<'_> {
    Request {
        system_hook: true,
        ..request
    }
}

// ---------------------------------------------------------------- what is refused

/// URLs a project hook may not reach under the default policy, with a phrase the refusal
/// must contain (refused_urls.tsv, shared with the hooks API test).
fn refused() -> Vec<(&'static str, &'static str)> {
    include_str!("refused_urls.tsv")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.split_once('\t').expect("url<TAB>phrase"))
        .collect()
}

#[tokio::test]
async fn every_notation_and_range_is_refused_to_project_hooks() {
    let refused = refused();
    assert!(refused.len() >= 60, "{}", refused.len());
    let guard = guard(OutboundPolicy::default());
    for (url, phrase) in refused {
        let refusal = guard
            .check_url(url, &[], false)
            .await
            .expect_err(url)
            .to_string();
        assert!(refusal.contains(phrase), "{url}: {refusal}");
        for secret in ["user", "pass", "meta-data", "credentials"] {
            assert!(!refusal.contains(secret), "{url}: {refusal}");
        }
    }
}

#[tokio::test]
async fn public_destinations_and_unknowable_hosts_are_allowed() {
    let guard = guard(OutboundPolicy::default());
    for url in [
        "http://93.184.216.34/",
        "https://93.184.216.34:8443/hook?x=1",
        "http://1572395042/", // 93.184.216.34 in decimal
        "http://[2606:4700:4700::1111]/",
        "http://[::ffff:93.184.216.34]/",
        "http://[64:ff9b::5db8:d822]/",
        "http://public.test/hook",
        // One allowed address is enough: the connection goes only to that one.
        "http://mixed.test/",
        // No address now; it is checked at each delivery.
        "http://not-yet-created.test/",
        // The host is a placeholder without a value: checked at each delivery.
        "http://{host}/hook",
        "https://{sub}.example.com/",
        "http://{host}:{port}/",
    ] {
        assert_eq!(guard.check_url(url, &[], false).await, Ok(()), "{url}");
    }
}

#[tokio::test]
async fn the_free_check_url_uses_the_system_resolver() {
    let policy = OutboundPolicy::default();
    let refusal = check_url("http://localhost:3000/hook", &policy, false)
        .await
        .unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "blocked: 127.0.0.1 is a loopback address; local requests are not allowed"
    );
    assert!(matches!(refusal, Refusal::Blocked(_)));
    assert_eq!(check_url("http://localhost/", &policy, true).await, Ok(()));
    assert_eq!(
        check_url("ftp://localhost/", &policy, true).await,
        Err(Refusal::Scheme)
    );
}

#[tokio::test]
async fn a_host_from_a_url_variable_is_checked_without_naming_its_address() {
    let guard = guard(OutboundPolicy::default());
    let variables = [("host".to_owned(), "10.20.30.40".to_owned())];
    let refusal = guard
        .check_url("http://{host}/hook", &variables, false)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        refusal,
        "blocked: the host's address is a private address; local requests are not allowed"
    );
    let named = [("host".to_owned(), "private.test".to_owned())];
    let refusal = guard
        .check_url("http://{host}:8080/", &named, false)
        .await
        .unwrap_err()
        .to_string();
    assert!(!refusal.contains("10.1.2.3"), "{refusal}");
    let public = [("host".to_owned(), "public.test".to_owned())];
    assert_eq!(
        guard.check_url("http://{host}/", &public, false).await,
        Ok(())
    );
}

// ---------------------------------------------------------------- what opens a destination

#[tokio::test]
async fn metadata_stays_blocked_when_local_requests_are_allowed_unless_exactly_allowlisted() {
    let open = OutboundPolicy {
        allow_local_requests: true,
        allowlist: allow(&["169.254.0.0/16", "metadata.test"]),
        ..OutboundPolicy::default()
    };
    for system_hook in [false, true] {
        for url in [
            "http://169.254.169.254/",
            "http://[::ffff:169.254.169.254]/",
            "http://metadata.test/",
            "http://[fd00:ec2::254]/",
        ] {
            let refusal = guard(open.clone())
                .check_url(url, &[], system_hook)
                .await
                .unwrap_err();
            assert!(
                refusal.to_string().contains("is a cloud metadata address"),
                "{url}: {refusal}"
            );
        }
    }
    let exact = OutboundPolicy {
        allowlist: allow(&["169.254.169.254"]),
        ..OutboundPolicy::default()
    };
    let guard = guard(exact);
    for url in [
        "http://169.254.169.254/",
        "http://[::ffff:169.254.169.254]/",
        "http://metadata.test/",
    ] {
        assert_eq!(guard.check_url(url, &[], false).await, Ok(()), "{url}");
    }
    assert!(
        guard
            .check_url("http://169.254.170.2/", &[], false)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_allowlist_opens_by_host_name_ip_and_cidr() {
    let receiver = Receiver::start().await;
    let port = receiver.port();
    for (entry, host) in [
        ("receiver.test", "receiver.test"),
        ("*.hooks.test", "a.hooks.test"),
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", "[::ffff:127.0.0.1]"),
        ("127.0.0.0/8", "127.0.0.1"),
        ("127.0.0.0/8", "loopback.test"),
    ] {
        let policy = OutboundPolicy {
            allowlist: allow(&[entry]),
            ..OutboundPolicy::default()
        };
        let url = format!("http://{host}:{port}/hook");

        let result = sender(policy).send(&request(&url)).await;

        assert_eq!(
            result.status,
            Some(200),
            "{entry} / {host}: {:?}",
            result.error
        );
    }
    assert_eq!(receiver.hits(), 6);

    // An entry for another name or range opens nothing else.
    let policy = OutboundPolicy {
        allowlist: allow(&["receiver.test", "*.hooks.test", "10.0.0.0/8"]),
        ..OutboundPolicy::default()
    };
    for host in ["loopback.test", "127.0.0.1"] {
        let url = format!("http://{host}:{port}/hook");
        let result = sender(policy.clone()).send(&request(&url)).await;
        assert_eq!(result.status, None, "{host}");
        assert!(result.error.unwrap().starts_with("blocked: "), "{host}");
    }
    assert_eq!(receiver.hits(), 6);
}

#[tokio::test]
async fn deny_all_except_allowed_refuses_everything_off_the_allowlist() {
    let receiver = Receiver::start().await;
    let port = receiver.port();
    let policy = OutboundPolicy {
        allow_local_requests: true,
        deny_all_requests_except_allowed: true,
        allowlist: allow(&["receiver.test"]),
        ..OutboundPolicy::default()
    };
    let sender = sender(policy.clone());

    let allowed = sender
        .send(&request(&format!("http://receiver.test:{port}/")))
        .await;
    assert_eq!(allowed.status, Some(200), "{:?}", allowed.error);
    let refused = sender
        .send(&system(request(&format!("http://127.0.0.1:{port}/"))))
        .await;
    assert_eq!(
        refused.error.as_deref(),
        Some(
            "blocked: 127.0.0.1 is not on the allowlist, and only allowlisted destinations \
             are allowed"
        )
    );
    assert_eq!(receiver.hits(), 1);

    let public = guard(policy)
        .check_url("http://93.184.216.34/", &[], false)
        .await;
    assert!(
        public
            .unwrap_err()
            .to_string()
            .contains("not on the allowlist")
    );
}

#[tokio::test]
async fn system_hooks_may_reach_local_addresses_unless_that_is_turned_off() {
    let receiver = Receiver::start().await;
    let url = format!("http://127.0.0.1:{}/", receiver.port());

    let project = sender(OutboundPolicy::default()).send(&request(&url)).await;
    assert_eq!(
        project.error.as_deref(),
        Some("blocked: 127.0.0.1 is a loopback address; local requests are not allowed")
    );
    let system_hook = sender(OutboundPolicy::default())
        .send(&system(request(&url)))
        .await;
    assert_eq!(system_hook.status, Some(200), "{:?}", system_hook.error);

    let strict = OutboundPolicy {
        allow_local_requests_from_system_hooks: false,
        ..OutboundPolicy::default()
    };
    let refused = sender(strict).send(&system(request(&url))).await;
    assert_eq!(
        refused.error.as_deref(),
        Some(
            "blocked: 127.0.0.1 is a loopback address; local requests from system hooks are \
             not allowed"
        )
    );
    assert_eq!(receiver.hits(), 1);
}

// ---------------------------------------------------------------- deliveries

#[tokio::test]
async fn the_default_config_refuses_loopback_in_any_notation_and_sends_nothing() {
    let receiver = Receiver::start().await;
    let port = receiver.port();
    // The system resolver, as in production: `localhost` comes from /etc/hosts.
    let sender = Sender::new(SenderConfig::default()).unwrap();
    for host in [
        "127.0.0.1",
        "2130706433",
        "0x7f.1",
        "0177.0.0.1",
        "127.1",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "localhost",
    ] {
        let url = format!("http://{host}:{port}/hook");

        let result = sender.send(&request(&url)).await;

        assert_eq!(result.status, None, "{host}");
        assert!(!result.permanent, "{host}");
        let error = result.error.unwrap();
        assert!(
            error.starts_with("blocked: ") && error.ends_with("local requests are not allowed"),
            "{host}: {error}"
        );
        assert!(!error.contains("tok-secret-1"), "{error}");
    }
    assert_eq!(
        receiver.hits(),
        0,
        "a refused delivery reached the receiver"
    );
}

#[tokio::test]
async fn a_name_is_resolved_once_and_only_its_allowed_addresses_are_connected_to() {
    // The same port on two loopback addresses: only 127.0.0.2 is allowlisted.
    let allowed = Receiver::on("127.0.0.2:0").await;
    let refused = Receiver::on(&format!("127.0.0.1:{}", allowed.port())).await;
    let names = Names::with(&[("both.test", &["127.0.0.1", "127.0.0.2"])]);
    let policy = OutboundPolicy {
        allowlist: allow(&["127.0.0.2"]),
        ..OutboundPolicy::default()
    };
    let sender = sender_with(policy, names.clone());
    let url = format!("http://both.test:{}/hook", allowed.port());

    let result = sender.send(&request(&url)).await;

    assert_eq!(result.status, Some(200), "{:?}", result.error);
    assert_eq!(allowed.hits(), 1);
    assert_eq!(refused.hits(), 0);
    assert_eq!(names.lookups.load(Ordering::SeqCst), 1, "a second lookup");
}

#[tokio::test]
async fn a_name_with_no_allowed_address_fails_with_the_refusal() {
    let receiver = Receiver::start().await;
    let url = format!("http://loopback.test:{}/", receiver.port());

    let result = sender(OutboundPolicy::default()).send(&request(&url)).await;

    assert_eq!(result.status, None);
    assert!(!result.permanent);
    assert_eq!(
        result.error.as_deref(),
        Some("blocked: 127.0.0.1 is a loopback address; local requests are not allowed")
    );
    let unknown = sender(OutboundPolicy::default())
        .send(&request("http://nowhere.test/"))
        .await;
    assert_eq!(unknown.error.as_deref(), Some("DNS error: no such host"));
    assert_eq!(receiver.hits(), 0);
}

#[tokio::test]
async fn the_instance_own_address_is_refused_even_through_a_name() {
    let receiver = Receiver::start().await;
    let own = OutboundPolicy {
        allow_local_requests: true,
        allowlist: allow(&["127.0.0.1"]),
        own_addresses: vec![receiver.addr],
        ..OutboundPolicy::default()
    };
    for host in ["127.0.0.1", "receiver.test", "[::ffff:127.0.0.1]"] {
        let url = format!("http://{host}:{}/", receiver.port());
        let result = sender(own.clone()).send(&system(request(&url))).await;
        let error = result.error.unwrap();
        assert!(
            error.contains(&format!(":{} ", receiver.port()))
                && error.ends_with(" is this instance's own address"),
            "{host}: {error}"
        );
    }
    assert_eq!(receiver.hits(), 0);

    // Another port of the same address is not the instance: the port reaches the check
    // made where the name is resolved.
    let elsewhere = OutboundPolicy {
        own_addresses: vec![SocketAddr::new(receiver.addr.ip(), receiver.port() ^ 1)],
        ..own
    };
    let url = format!("http://receiver.test:{}/", receiver.port());
    let result = sender(elsewhere).send(&request(&url)).await;
    assert_eq!(result.status, Some(200), "{:?}", result.error);
}

#[tokio::test]
async fn a_refused_host_or_port_from_a_url_variable_is_not_named_in_the_log() {
    let receiver = Receiver::start().await;
    let variables = [
        ("host".to_owned(), "127.0.0.1".to_owned()),
        ("port".to_owned(), receiver.port().to_string()),
    ];
    for (template, expected) in [
        (
            "http://{host}:{port}/",
            "blocked: the host's address is a loopback address; local requests are not allowed",
        ),
        // The host is the template's own: its address may be named, the port not.
        (
            "http://receiver.test:{port}/",
            "blocked: 127.0.0.1 is a loopback address; local requests are not allowed",
        ),
    ] {
        let request = Request {
            url_variables: &variables,
            ..request(template)
        };

        let result = sender(OutboundPolicy::default()).send(&request).await;

        assert_eq!(result.error.as_deref(), Some(expected), "{template}");
        let record = format!(
            "{:?}",
            (
                &result.url,
                &result.error,
                &result.request_headers,
                &result.final_url
            )
        );
        assert!(!record.contains(&receiver.port().to_string()), "{record}");
    }

    // An own address with the port from a variable: the port is not named.
    let own = OutboundPolicy {
        allow_local_requests: true,
        own_addresses: vec![receiver.addr],
        ..OutboundPolicy::default()
    };
    let request = Request {
        url_variables: &variables,
        ..request("http://127.0.0.1:{port}/")
    };
    let result = sender(own).send(&request).await;
    assert_eq!(
        result.error.as_deref(),
        Some("blocked: 127.0.0.1 is this instance's own address")
    );
    assert_eq!(receiver.hits(), 0);
}

/// The `url_validation` fuzz target's corpus and crash reproducers, replayed: every IP
/// literal is classified without a panic, and loopback, unspecified and metadata literals
/// are refused by the default policy.
#[test]
fn the_fuzz_corpus_of_urls_is_checked() {
    let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let texts: Vec<String> = wvs_events::fuzzing::committed_inputs(&fuzz, "url_validation")
        .into_iter()
        .filter_map(|(_, bytes)| String::from_utf8(bytes).ok())
        .collect();
    assert!(
        texts.len() >= 50,
        "the corpus is committed: {}",
        texts.len()
    );
    for text in &texts {
        wvs_send::fuzzing::check_url_literal(text);
    }
}
