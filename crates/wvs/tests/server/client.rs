//! A GitLab API v4 client that WVS does not control (python-gitlab) lists, creates, edits,
//! tests and deletes hooks.

use std::process::Command;
use std::time::Duration;

use crate::setup::registry;
use crate::support::{ADMIN_TOKEN, Receiver, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_gitlab_manages_hooks() {
    let receiver = Receiver::start().await;
    let server = Server::start(&[]);
    let ids = registry(&server).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/server/gitlab_client.py");
    let python = std::env::var("WVS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let (url, project, receiver_url) = (
        server.url.clone(),
        ids.project.to_string(),
        receiver.url.clone(),
    );
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .args([script, &url, ADMIN_TOKEN, &project, &receiver_url])
            .output()
            .expect("python3 runs (python-gitlab is installed by .ci/run)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python-gitlab failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("log paged"), "{stdout}");
    assert!(stdout.contains("projects paged"), "{stdout}");
    assert!(stdout.contains("system hooks ok"), "{stdout}");
    // The test call reached the receiver with the hook's token.
    let received = receiver.wait_for(5, Duration::from_secs(10)).await;
    assert_eq!(received[0].path, "/python");
    assert_eq!(received[0].header("X-WVS-Token"), Some("py-token"));
    assert_eq!(received[0].header("X-WVS-Event"), Some("Push Hook"));
}
