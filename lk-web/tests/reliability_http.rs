//! Slow and stalled request bodies against the real server on a loopback
//! socket. A client that sends its headers and then goes silent must get a
//! response and a closed connection, never a connection held open forever.
//!
//! Time is paused, so the server's body timeout passes at once when the
//! runtime has nothing else to do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bitrix_lk_core::fakes::{FakeCrm, MemoryStore};
use bitrix_lk_core::{
    CategoryId, Deal, DealId, FieldCode, FieldValue, LkConfig, Session, SessionId, StageId, Store,
};
use jiff::Timestamp;
use lk_web::server::assemble_with;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long the test waits for the server on the paused clock; far longer
/// than any timeout the server may have.
const PATIENCE: Duration = Duration::from_secs(3_600);

/// The session cookie of the one client of [`server`].
const SESSION_COOKIE: &str = "lk_session=reliability-session-1";

/// Starts the cabinet over the in-memory store with one provisioned client
/// and a session for it ([`SESSION_COOKIE`]).
async fn server() -> SocketAddr {
    let mut config = LkConfig::default();
    config.bitrix24.application_tokens = vec![SecretString::from("app-token-1")];
    config.accounts.hash_memory_kib = 1024;
    config.accounts.hash_iterations = 1;
    let store = Arc::new(MemoryStore::new());
    let cabinet = assemble_with(Arc::new(config), store.clone(), Arc::new(FakeCrm::new()));

    let deal = client_deal();
    store.save_deal(&deal).await.unwrap();
    cabinet.state.provisioner().provision(&deal).await.unwrap();
    let now = Timestamp::now();
    store
        .create_session(&Session {
            id: SessionId::new("reliability-session-1".to_owned()),
            deal_id: deal.id,
            csrf_token: SecretString::from("csrf-1"),
            created_at: now,
            expires_at: now
                .checked_add(jiff::SignedDuration::from_hours(1))
                .unwrap(),
        })
        .await
        .unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(lk_web::server::serve_without_engine(
        cabinet.state,
        listener,
        std::future::pending(),
    ));
    address
}

fn client_deal() -> Deal {
    let mut fields = BTreeMap::new();
    fields.insert(
        FieldCode::from("UF_CRM_1708511654449"),
        FieldValue::Text("Создать".to_owned()),
    );
    Deal {
        id: DealId(41),
        title: "Дело клиента 41".to_owned(),
        category_id: CategoryId(7),
        stage_id: StageId::from("C7:NEW"),
        contact_id: None,
        modified_at: None,
        fields,
    }
}

/// Sends `head` and part of a body, then waits for the server to close.
/// Returns the elapsed paused time and what the server sent, or `None` when
/// it kept the connection open for all of [`PATIENCE`].
async fn stall(address: SocketAddr, head: &str, partial_body: &str) -> Option<(Duration, String)> {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(partial_body.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();

    let started = tokio::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer)).await;
    match read {
        Ok(Ok(_)) => Some((
            started.elapsed(),
            String::from_utf8_lossy(&answer).into_owned(),
        )),
        Ok(Err(_)) => Some((started.elapsed(), String::new())),
        Err(_) => None,
    }
}

fn post_head(path: &str, content_type: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {SESSION_COOKIE}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    )
}

#[tokio::test(start_paused = true)]
async fn stalled_event_body_is_cut_off() {
    let address = server().await;

    let outcome = stall(
        address,
        &post_head("/b24/events", "application/x-www-form-urlencoded", 500),
        "event=ONCRMDEALUPDATE&data[FIELDS][ID]=",
    )
    .await;

    let (elapsed, answer) = outcome.expect("the server held a stalled body open for an hour");
    assert!(elapsed <= Duration::from_secs(120), "{elapsed:?}");
    assert!(
        answer.starts_with("HTTP/1.1 4"),
        "a stalled body must get a client error: {answer:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn stalled_login_body_is_cut_off() {
    let address = server().await;

    let outcome = stall(
        address,
        &post_head("/login", "application/x-www-form-urlencoded", 300),
        "csrf=abc&login=lk",
    )
    .await;

    let (elapsed, answer) = outcome.expect("the server held a stalled login body open");
    assert!(elapsed <= Duration::from_secs(120), "{elapsed:?}");
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer:?}");
}

#[tokio::test(start_paused = true)]
async fn stalled_upload_is_cut_off() {
    let address = server().await;
    let boundary = "XyZ";
    let head = post_head(
        "/documents/UF_CRM_1708509490009",
        &format!("multipart/form-data; boundary={boundary}"),
        5_000_000,
    );
    let partial = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
    );

    let outcome = stall(address, &head, &partial).await;

    let (elapsed, answer) = outcome.expect("the server held a stalled upload open");
    assert!(elapsed <= Duration::from_secs(120), "{elapsed:?}");
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer:?}");
}

#[tokio::test(start_paused = true)]
async fn stalled_headers_are_cut_off() {
    let address = server().await;

    let outcome = stall(
        address,
        &format!("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {SESSION_COOKIE}\r\n"),
        "",
    )
    .await;

    let (elapsed, answer) = outcome.expect("the server held unfinished headers open for an hour");
    assert!(
        elapsed <= lk_web::listen::HEADER_READ_TIMEOUT + Duration::from_secs(1),
        "{elapsed:?}"
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "unfinished headers must get no page: {answer:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn idle_keep_alive_connection_is_closed() {
    let address = server().await;

    let outcome = stall(
        address,
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "",
    )
    .await;

    let (elapsed, answer) = outcome.expect("the server held an idle connection open for an hour");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(
        elapsed <= lk_web::listen::HEADER_READ_TIMEOUT + Duration::from_secs(1),
        "{elapsed:?}"
    );
}
