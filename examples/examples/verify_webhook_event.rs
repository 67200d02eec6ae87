//! Receives Bitrix24 outgoing-webhook events in an axum handler, `POST /b24/events`.
//!
//! The handler decodes the body with `parse_event` and checks the application
//! token with `EventVerifier` (constant time). The example registers it as an
//! outgoing webhook in the emulator, moves a deal to another stage as staff
//! would, waits for the delivery and prints the decoded event. A request with a
//! forged token gets 401. Run: `cargo run -p lk-examples --example verify_webhook_event`

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use bitrix_lk_core::DealId;
use bitrix24_client::emulator::{Emulator, EmulatorOptions, Seed, seed};
use bitrix24_client::event::{Event, EventVerifier, parse_event};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// The handler's state: the accepted tokens and where decoded events go.
#[derive(Clone)]
struct Receiver {
    verifier: Arc<EventVerifier>,
    events: mpsc::UnboundedSender<Event>,
}

async fn receive_event(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let event = match parse_event(content_type, &body) {
        Ok(event) => event,
        Err(error) => {
            println!("handler: rejected a malformed body: {error}");
            return StatusCode::BAD_REQUEST;
        }
    };
    if let Err(error) = receiver.verifier.verify(&event) {
        println!("handler: rejected {}: {error}", event.name);
        return StatusCode::UNAUTHORIZED;
    }

    // Bitrix24 never resends an event, so a real receiver stores it durably
    // before it responds with 200, and processes it later.
    let _ = receiver.events.send(event);
    StatusCode::OK
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The handler's socket comes first, because the webhook needs its URL.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/b24/events", listener.local_addr()?);

    let emulator = Emulator::start(EmulatorOptions::default().seed(Seed::Demo)).await?;
    let portal = emulator.portal();
    let webhook = portal.add_outgoing_webhook(&url, &["ONCRMDEALUPDATE"])?;
    println!("outgoing webhook registered for {url}");

    let (events, mut received) = mpsc::unbounded_channel();
    let receiver = Receiver {
        verifier: Arc::new(EventVerifier::new([webhook.application_token])),
        events,
    };
    let app = Router::new()
        .route("/b24/events", post(receive_event))
        .with_state(receiver);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    // A staff member moves the first demo deal on; the portal sends ONCRMDEALUPDATE.
    let deal = *portal.deal_ids().first().context("the demo has no deals")?;
    portal.move_stage(deal, seed::STAGE_RESTRUCTURING)?;
    portal.wait_for_deliveries().await;

    let event = received
        .try_recv()
        .context("the handler received no event")?;
    println!("decoded {}: {:?}", event.name, event.kind);
    println!(
        "  sent at {:?}, dedup key {}",
        event.sent_at,
        event.dedup_key()
    );
    ensure!(
        event.deal_id() == Some(DealId(deal)),
        "the event is about another deal"
    );
    println!("the portal's delivery log: {:?}", portal.deliveries());

    // Anyone can POST to the handler; a request without the right token gets 401.
    let forged = format!("event=ONCRMDEALUPDATE&data[FIELDS][ID]={deal}&auth[application_token]=x");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let response = http
        .post(&url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(forged)
        .send()
        .await?;
    println!("forged token: HTTP {}", response.status());
    ensure!(
        response.status() == StatusCode::UNAUTHORIZED,
        "expected 401"
    );
    ensure!(received.try_recv().is_err(), "a forged event got through");

    let _ = stop.send(());
    server.await??;
    emulator.shutdown().await;
    Ok(())
}
