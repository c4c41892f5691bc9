//! Slow and hostile clients, over raw loopback sockets: headers or a body that trickle in,
//! more connections than allowed, and responses sent before the request body was read.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::support::{ADMIN_TOKEN, Server};

/// The longest any read of these tests waits.
const DEADLINE: Duration = Duration::from_secs(15);

async fn connect(server: &Server) -> TcpStream {
    let address = server.url.strip_prefix("http://").unwrap();
    TcpStream::connect(address).await.unwrap()
}

/// Sends `bytes` one at a time, `pause` apart, until they are sent or the server closes;
/// counts what was sent in `sent`.
fn trickle(
    mut writer: tokio::net::tcp::OwnedWriteHalf,
    bytes: Vec<u8>,
    pause: Duration,
    sent: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for byte in bytes {
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
            sent.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(pause).await;
        }
    })
}

/// Everything the server sends until it closes the connection (an error counts as closed).
async fn read_until_closed(reader: &mut (impl AsyncReadExt + Unpin)) -> String {
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        match timeout(DEADLINE, reader.read(&mut buffer))
            .await
            .expect("the server closes the connection in time")
        {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&received).into_owned(),
            Ok(read) => received.extend_from_slice(&buffer[..read]),
        }
    }
}

/// One response on a keep-alive connection: its head (lowercased) and body.
async fn read_response(stream: &mut TcpStream) -> (String, String) {
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let head = head.to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .map_or(0, |value| value.trim().parse().unwrap());
            if body.len() >= length {
                return (head, body.to_owned());
            }
        }
        let read = timeout(DEADLINE, stream.read(&mut buffer))
            .await
            .expect("the server answers in time")
            .expect("the connection stays open");
        assert!(read > 0, "closed before a whole response: {text}");
        received.extend_from_slice(&buffer[..read]);
    }
}

const HEALTH: &[u8] = b"GET /-/health HTTP/1.1\r\nHost: localhost\r\n\r\n";

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_closed_while_others_are_served() {
    let server = Server::start(&["--header-read-timeout", "1s"]);
    let (mut reader, writer) = connect(&server).await.into_split();
    let sent = Arc::new(AtomicUsize::new(0));
    let trickling = trickle(
        writer,
        HEALTH.to_vec(),
        Duration::from_secs(1),
        sent.clone(),
    );
    // Another connection is answered meanwhile.
    let mut other = connect(&server).await;
    other.write_all(HEALTH).await.unwrap();
    let (head, body) = read_response(&mut other).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(body.contains("ok"), "{body}");

    let answer = read_until_closed(&mut reader).await;
    let sent = sent.load(Ordering::SeqCst);
    trickling.abort();
    assert!(
        sent < HEALTH.len(),
        "closed only after the whole header ({sent} bytes)"
    );
    assert!(!answer.contains(" 200 "), "{answer}");
}

#[tokio::test]
async fn a_body_that_trickles_past_the_body_timeout_gets_408_and_is_closed() {
    let server = Server::start(&["--body-read-timeout", "1s"]);
    let (mut reader, mut writer) = connect(&server).await.into_split();
    let head = format!(
        "POST /api/v4/groups HTTP/1.1\r\nHost: localhost\r\nPRIVATE-TOKEN: {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let trickling = trickle(
        writer,
        vec![b' '; 100],
        Duration::from_millis(200),
        sent.clone(),
    );
    let answer = read_until_closed(&mut reader).await;
    trickling.abort();
    let lower = answer.to_ascii_lowercase();
    assert!(lower.starts_with("http/1.1 408"), "{answer}");
    assert!(lower.contains("connection: close"), "{answer}");
    assert!(
        answer.contains("the request body did not arrive within 1s"),
        "{answer}"
    );
    assert!(sent.load(Ordering::SeqCst) < 100);
}

#[tokio::test]
async fn past_max_connections_a_connection_is_refused_with_503_until_one_closes() {
    let server = Server::start(&["--max-connections", "2"]);
    let mut first = connect(&server).await;
    let mut second = connect(&server).await;
    for held in [&mut first, &mut second] {
        held.write_all(HEALTH).await.unwrap();
        let (head, _) = read_response(held).await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
    }
    let mut third = connect(&server).await;
    third.write_all(HEALTH).await.unwrap();
    let answer = read_until_closed(&mut third).await;
    let (head, body) = answer.split_once("\r\n\r\n").expect("a whole response");
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 503"), "{answer}");
    assert!(head.contains("connection: close"), "{answer}");
    assert!(head.contains("content-type: application/json"), "{answer}");
    let message: serde_json::Value = serde_json::from_str(body).unwrap();
    assert!(
        message["message"]
            .as_str()
            .unwrap()
            .contains("connection limit is reached"),
        "{message}"
    );
    // Once a connection closes, its place is free again.
    drop(first);
    let started = tokio::time::Instant::now();
    loop {
        let mut next = connect(&server).await;
        next.write_all(HEALTH).await.unwrap();
        let answer = read_until_closed_or_response(&mut next).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "still refused: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.write_all(HEALTH).await.unwrap();
    assert!(
        read_response(&mut second)
            .await
            .0
            .starts_with("http/1.1 200")
    );
}

/// The first bytes of the answer: enough to tell 200 from a refusal.
async fn read_until_closed_or_response(stream: &mut TcpStream) -> String {
    let mut buffer = [0; 64];
    let read = timeout(DEADLINE, stream.read(&mut buffer))
        .await
        .expect("the server answers in time")
        .unwrap_or(0);
    String::from_utf8_lossy(&buffer[..read]).into_owned()
}

#[tokio::test]
async fn a_response_sent_before_the_body_was_read_closes_the_connection() {
    let server = Server::start(&[]);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let connection = |response: &reqwest::Response| {
        response
            .headers()
            .get("connection")
            .map(|value| value.to_str().unwrap().to_owned())
    };
    // Nobody reads the body of a request to an unknown route.
    let unread = client
        .post(format!("{}/no/such/route", server.url))
        .body(vec![b'x'; 10_000])
        .send()
        .await
        .unwrap();
    assert_eq!(unread.status(), 404);
    assert_eq!(connection(&unread).as_deref(), Some("close"));
    // A request without a body, and one whose body was read, keep the connection.
    let bodiless = client
        .get(format!("{}/no/such/route", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(bodiless.status(), 404);
    assert_eq!(connection(&bodiless), None);
    let read = client
        .post(format!("{}/api/v4/groups", server.url))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .json(&serde_json::json!({"name": "Acme", "path": "acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 201);
    assert_eq!(connection(&read), None);
}
