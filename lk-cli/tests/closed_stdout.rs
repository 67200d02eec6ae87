//! Commands whose stdout reader exits early (`lk-cli check | head -1`) stop
//! quietly with code 0 instead of panicking.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use bitrix_lk_core::store::sqlite::SqliteStore;
use bitrix_lk_core::{ChangeNotice, DealId, Store};
use bitrix24_client::emulator::Seed;
use common::{Workspace, emulator};
use jiff::Timestamp;

/// Runs the command with stdout connected to a pipe whose read end is
/// already closed, so its first write fails with a broken pipe.
fn run_with_closed_stdout(mut command: Command) -> (i32, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe is created");
    drop(reader);
    let output = command
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("the lk-cli binary runs");
    let code = output.status.code().expect("the binary exits with a code");
    (code, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Creates the store with one pending inbox event, so listings have rows.
async fn seed_store(workspace: &Workspace) {
    let store = SqliteStore::open(workspace.store_path()).expect("store opens");
    store
        .inbox_push(
            ChangeNotice::DealChanged { deal_id: DealId(1) },
            "ONCRMDEALUPDATE",
            None,
            Timestamp::now(),
        )
        .await
        .expect("event stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_stdout_exits_quietly() {
    let emulator = emulator(Seed::Demo).await;
    let workspace = Workspace::new(&emulator.webhook_url(), "");
    seed_store(&workspace).await;

    let commands: [&[&str]; 5] = [
        &["check"],
        &["events", "list"],
        &["accounts", "list"],
        &["--help"],
        &["config", "init", "--path", "second.toml"],
    ];
    for args in commands {
        let (code, stderr) = run_with_closed_stdout(workspace.command(args));

        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_piped_into_head_exits_quietly() {
    let emulator = emulator(Seed::Demo).await;
    let workspace = Workspace::new(&emulator.webhook_url(), "");
    let mut child = workspace
        .command(&["check"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Like `head -1`: read the first line and close the pipe. The next lines
    // come after requests to the portal, so they find the pipe closed.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    drop(stdout);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert!(first.starts_with("✓ Настройки загружены"), "{first}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    emulator.shutdown().await;
}
