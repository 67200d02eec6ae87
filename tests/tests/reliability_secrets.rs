//! Secrets stay out of logs, pages and error bodies. A whole scenario runs
//! with every `tracing` event at TRACE level captured. Then the capture,
//! every page and every error body are searched for the webhook secret, the
//! application token, client passwords (old, new and mistyped), session ids,
//! CSRF tokens and the contents of an uploaded document.
//!
//! The subscriber is process-wide, so this file holds one test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use bitrix_lk_core::engine::ResyncMode;
use bitrix24_client::emulator::seed::{DOCUMENT_FIELDS, FIELD_LOGIN, FIELD_PASSWORD};
use bitrix24_client::emulator::{Fault, Outage, Seed, UfValue};
use lk_tests::World;
use lk_tests::faults::{
    self, Raw, WorldOptions, application_token, deal_event_body, pair_of, post_event, set_cookie,
    settle_through,
};
use reqwest::header::COOKIE;
use tracing_subscriber::fmt::MakeWriter;

/// Every formatted log line, in order.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Capture {
    fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// The demo clients with accounts that the scenario logs in as.
const IVANOV: u64 = 1;
const SIDOROVA: u64 = 2;

/// The name of the one secret that pages carry on purpose: it is looked
/// for in the logs only.
const CSRF_TOKEN: &str = "CSRF token";

/// Text inside the uploaded document: personal data that must not be logged.
const DOCUMENT_MARKER: &str = "PASSPORT-4510-123456-SECRET-PAGE";

/// Returns the secret path segment of an incoming-webhook URL
/// (`http://HOST/rest/USER/SECRET/`).
fn webhook_secret(url: &str) -> String {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

/// Returns the log lines the cabinet wrote: the fake portal is Bitrix24's
/// stand-in, so the lines of its own modules and of the request spans it
/// opens are left out.
fn cabinet_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| !line.contains("bitrix24_client::emulator"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_logs_pages_or_errors() {
    let capture = Capture::default();
    // `try_init` also forwards `log` records (reqwest, for one) to the capture.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(capture.clone())
        .try_init()
        .unwrap();

    let world = faults::start(WorldOptions::new(Seed::Demo)).await.unwrap();
    let mut bodies: Vec<(String, String)> = Vec::new();
    let mut secrets: Vec<(&str, String)> = vec![
        (
            "webhook secret",
            webhook_secret(&world.emulator.webhook_url()),
        ),
        ("application token", application_token(&world)),
        ("document contents", DOCUMENT_MARKER.to_owned()),
    ];
    assert!(secrets[0].1.len() >= 8, "unexpected webhook URL form");

    run_scenario(&world, &mut bodies, &mut secrets).await;

    let log = capture.text();
    let lines = cabinet_lines(&log);
    println!(
        "figures: {} log lines captured ({} from the cabinet), {} bodies, {} secrets",
        log.lines().count(),
        lines.len(),
        bodies.len(),
        secrets.len()
    );
    assert!(log.contains(" TRACE "), "TRACE events were not captured");
    assert!(
        log.contains("client logged in"),
        "the cabinet's events were not captured"
    );
    assert!(
        log.contains("error sending request") || log.contains("connect"),
        "the refused connections were not logged"
    );
    assert!(
        lines.len() > 100,
        "the capture is too small to mean anything: {} lines",
        lines.len()
    );
    let mut hits = Vec::new();
    for (what, secret) in &secrets {
        for line in &lines {
            if line.contains(secret.as_str()) {
                hits.push(format!("log has the {what}: {line}"));
            }
        }
        // Every page carries its session's CSRF token in its forms, by design.
        if *what == CSRF_TOKEN {
            continue;
        }
        for (name, body) in &bodies {
            if body.contains(secret.as_str()) {
                hits.push(format!("{name} has the {what}"));
            }
        }
    }
    assert!(hits.is_empty(), "{} hits:\n{}", hits.len(), hits.join("\n"));
}

async fn run_scenario(
    world: &World,
    bodies: &mut Vec<(String, String)>,
    secrets: &mut Vec<(&'static str, String)>,
) {
    world
        .cabinet
        .engine
        .resync(ResyncMode::Full, &|_| {})
        .await
        .unwrap();
    settle_through(world).await;
    let raw = Raw::new(world);
    for deal in [IVANOV, SIDOROVA] {
        secrets.push((
            "client password",
            world.portal.field_text(deal, FIELD_PASSWORD).unwrap(),
        ));
    }

    // Failed logins, with a password that is someone's real one elsewhere.
    let login = world.portal.field_text(IVANOV, FIELD_LOGIN).unwrap();
    let typo = "Неверный-Пароль-7319";
    secrets.push(("mistyped password", typo.to_owned()));
    for attempt_login in [login.as_str(), "no-such-login"] {
        let page = raw.log_in("", attempt_login, typo).await;
        bodies.push((format!("failed login as {attempt_login}"), page.html));
    }

    // Successful logins: the session ids and CSRF tokens are secrets too.
    let mut sessions = Vec::new();
    for deal in [IVANOV, SIDOROVA] {
        let login = world.portal.field_text(deal, FIELD_LOGIN).unwrap();
        let password = world.portal.field_text(deal, FIELD_PASSWORD).unwrap();
        let page = raw.log_in("", &login, &password).await;
        let session = pair_of(set_cookie(&page, "lk_session").unwrap());
        secrets.push((
            "session id",
            session.trim_start_matches("lk_session=").to_owned(),
        ));
        sessions.push(session);
    }
    let session = sessions[0].clone();
    for path in [
        "/",
        "/payments",
        "/documents",
        "/statuses",
        "/password",
        "/healthz",
    ] {
        let page = raw.get(path, &session).await;
        bodies.push((format!("page {path}"), page.html));
    }
    let csrf = lk_tests::csrf_of(&raw.get("/", &session).await.html).unwrap();
    secrets.push((CSRF_TOKEN, csrf.clone()));

    upload_document(world, &raw, &session, &csrf, bodies).await;
    change_password(world, &raw, &session, &csrf, bodies, secrets).await;
    error_bodies(world, &raw, &session, bodies).await;
    outage_with_faults(world).await;

    let logout = raw.post("/logout", &session, &[("csrf", &csrf)]).await;
    bodies.push(("logout".to_owned(), logout.html));
    let after = raw.get("/", &session).await;
    bodies.push(("page after logout".to_owned(), after.html));
}

async fn upload_document(
    world: &World,
    raw: &Raw,
    session: &str,
    csrf: &str,
    bodies: &mut Vec<(String, String)>,
) {
    let (field, _) = DOCUMENT_FIELDS[6];
    let contents = format!("%PDF-1.4\n% {DOCUMENT_MARKER}\n");
    let part = reqwest::multipart::Part::bytes(contents.into_bytes()).file_name("скан.pdf");
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_owned())
        .part("file", part);
    let response = raw
        .http
        .post(format!("{}/documents/{field}", raw.base_url))
        .header(COOKIE, session)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    settle_through(world).await;
    let page = raw.get("/documents", session).await;
    bodies.push(("documents after upload".to_owned(), page.html));
    assert_eq!(world.portal.files(IVANOV, field).len(), 1);
}

async fn change_password(
    world: &World,
    raw: &Raw,
    session: &str,
    csrf: &str,
    bodies: &mut Vec<(String, String)>,
    secrets: &mut Vec<(&'static str, String)>,
) {
    let old = world.portal.field_text(IVANOV, FIELD_PASSWORD).unwrap();
    let new = "Новый-Пароль-Клиента-2024";
    secrets.push(("new password", new.to_owned()));
    for (current, repeat) in [
        ("not-the-password", new),
        (old.as_str(), "mismatch-xyz"),
        (old.as_str(), new),
    ] {
        let page = raw
            .post(
                "/password",
                session,
                &[
                    ("csrf", csrf),
                    ("current", current),
                    ("new", new),
                    ("repeat", repeat),
                ],
            )
            .await;
        bodies.push(("password change".to_owned(), page.html));
    }
    settle_through(world).await;
}

async fn error_bodies(world: &World, raw: &Raw, session: &str, bodies: &mut Vec<(String, String)>) {
    let token = application_token(world);
    let http = faults::http_client();
    let cases = [
        ("missing page", raw.get("/no-such-page", session).await.html),
        (
            "forged CSRF",
            raw.post("/logout", session, &[("csrf", "forged")])
                .await
                .html,
        ),
        (
            "bad upload field",
            raw.post("/documents/UF_NOT_A_DOCUMENT", session, &[("csrf", "x")])
                .await
                .html,
        ),
    ];
    for (name, body) in cases {
        bodies.push((name.to_owned(), body));
    }

    let events = [
        deal_event_body("ONCRMDEALUPDATE", IVANOV, "forged-token", 1),
        deal_event_body("ONCRMDEALUPDATE", IVANOV, &token, 1),
        format!("event=<bad>&auth[application_token]={token}"),
        format!(
            "{}&pad={}",
            deal_event_body("ONCRMDEALUPDATE", 1, &token, 1),
            "x".repeat(70_000)
        ),
    ];
    for body in events {
        let response = http
            .post(format!("{}/b24/events", world.base_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        bodies.push((
            format!("event answer {status}"),
            response.text().await.unwrap(),
        ));
    }
    let status = post_event(&http, &world.base_url, "application/json", "{broken")
        .await
        .unwrap();
    assert_eq!(status, 400);
    settle_through(world).await;
}

/// Makes the engine's Bitrix24 calls fail in every way the emulator can, so
/// the errors it logs (with their messages and sources) are in the capture.
async fn outage_with_faults(world: &World) {
    world.portal.go_down(Outage::ServiceUnavailable, None);
    world
        .portal
        .set_field(
            IVANOV,
            bitrix24_client::emulator::seed::FIELD_MESSAGE,
            UfValue::text("x"),
        )
        .unwrap();
    world.portal.wait_for_deliveries().await;
    world.cabinet.engine.drain_queues().await;
    world.portal.come_up();

    world.portal.go_down(Outage::Refused, None);
    world.portal.wait_until_serving(false).await;
    world
        .portal
        .set_field(
            IVANOV,
            bitrix24_client::emulator::seed::FIELD_MESSAGE,
            UfValue::text("y"),
        )
        .unwrap();
    world.portal.wait_for_deliveries().await;
    world.cabinet.engine.drain_queues().await;
    world.portal.come_up();
    world.portal.wait_until_serving(true).await;

    world.portal.fail_next(5, Fault::ServerError);
    world.portal.fail_next(5, Fault::BadGateway);
    world.cabinet.engine.drain_queues().await;
    let after = settle_through(world).await;
    assert_eq!(after.inbox_pending, 0);
}
