//! `wvs backup`: a copy taken while the server ingests holds every event acknowledged before
//! it started, and a server restored from it (copy and key) serves it.

use std::collections::HashSet;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::Connection;
use wvs_events::samples;

use crate::setup::pushed_to_receiver;
use crate::support::Server;

/// Runs `wvs backup COPY` on the server's database.
fn backup(server: &Server, copy: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wvs"))
        .arg("backup")
        .arg(copy)
        .arg("--database-url")
        .arg(server.dir.join("wvs.db"))
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_holds_every_acknowledged_event() {
    let server = Arc::new(Server::start(&[]));
    let (owner, receiver) = pushed_to_receiver(&server).await;
    let acked = Arc::new(Mutex::new(Vec::new()));
    let posting = {
        let (server, acked, owner) = (server.clone(), acked.clone(), owner.clone());
        tokio::spawn(async move {
            let body = samples::find("push").unwrap().json.as_bytes();
            for _ in 0..400 {
                let (status, answer) = server.ingest(&format!("{owner}/events"), body).await;
                assert_eq!(status, 202, "{answer}");
                let uuid = answer["event_uuid"].as_str().unwrap().to_owned();
                acked.lock().unwrap().push(uuid);
            }
        })
    };
    // Mid-way through the posts.
    while acked.lock().unwrap().len() < 100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    let copy = server.dir.join("backup.db");
    let output = backup(&server, &copy);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    posting.await.unwrap();

    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", copy.display()))
        .await
        .unwrap();
    let stored: HashSet<String> = sqlx::query_scalar("SELECT uuid FROM events")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .collect();
    conn.close().await.unwrap();
    let missing: Vec<&String> = before.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, not in it: {missing:?}"
    );

    // Restore: the copy as wvs.db beside the key, and a server on it.
    let restored = tempfile::tempdir().unwrap().keep();
    std::fs::copy(&copy, restored.join("wvs.db")).unwrap();
    std::fs::copy(server.dir.join("wvs.key"), restored.join("wvs.key")).unwrap();
    let again = Server::start_in(&restored, &[]);
    let hooks = again
        .expect(200, "GET", &format!("{owner}/hooks"), None)
        .await;
    assert_eq!(
        hooks[0]["url"],
        receiver.url.as_str(),
        "hook URLs read with the key"
    );
    // A second backup to the same file is refused rather than overwriting it.
    let output = backup(&server, &copy);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("exists already"));
}
