//! The background task that POSTs events to handlers.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{DeliveryOutcome, DeliveryRecord, EventHub, Job};
use crate::emulator::error::{EmulatorError, Result};
use crate::emulator::php_form;

/// Starts the delivery task; it ends when every sender of the queue is gone.
pub(crate) fn spawn_worker(
    hub: Arc<EventHub>,
    mut queue: mpsc::UnboundedReceiver<Job>,
    timeout: Duration,
) -> Result<JoinHandle<()>> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Bitrix24 Webhook Engine (emulator)")
        .build()
        .map_err(EmulatorError::HttpClient)?;

    Ok(tokio::spawn(async move {
        while let Some(job) = queue.recv().await {
            let outcome = post(&client, &hub, &job).await;
            hub.finish(DeliveryRecord {
                handler_id: job.handler.id,
                event: job.event.name,
                entity_id: job.event.id,
                url: job.handler.url,
                outcome,
            });
        }
    }))
}

async fn post(client: &reqwest::Client, hub: &EventHub, job: &Job) -> DeliveryOutcome {
    let body = event_body(hub, job, Timestamp::now().as_second());
    let sent = client
        .post(&job.handler.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await;

    match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            tracing::debug!(event = %job.event.name, entity.id = job.event.id, handler.id = job.handler.id, status, "emulator delivered an event");
            DeliveryOutcome::Delivered { status }
        }
        Err(err) => {
            tracing::debug!(event = %job.event.name, entity.id = job.event.id, handler.id = job.handler.id, error = %err, "emulator failed to deliver an event; it is not retried");
            DeliveryOutcome::Failed {
                reason: err.to_string(),
            }
        }
    }
}

/// Builds the form body the portal's queue server posts.
pub(crate) fn event_body(hub: &EventHub, job: &Job, ts: i64) -> String {
    let mut pairs = vec![
        ("event".to_owned(), job.event.name.clone()),
        ("event_handler_id".to_owned(), job.handler.id.to_string()),
        ("data[FIELDS][ID]".to_owned(), job.event.id.to_string()),
    ];
    if let Some(entity_type_id) = job.event.entity_type_id {
        pairs.push((
            "data[FIELDS][ENTITY_TYPE_ID]".to_owned(),
            entity_type_id.to_string(),
        ));
    }
    pairs.push(("ts".to_owned(), ts.to_string()));

    let auth = &hub.auth;
    pairs.extend([
        ("auth[domain]".to_owned(), auth.domain.clone()),
        (
            "auth[client_endpoint]".to_owned(),
            auth.client_endpoint.clone(),
        ),
        (
            "auth[server_endpoint]".to_owned(),
            auth.server_endpoint.clone(),
        ),
        ("auth[member_id]".to_owned(), auth.member_id.clone()),
        (
            "auth[application_token]".to_owned(),
            job.handler.token.clone(),
        ),
    ]);
    php_form::build_query(&pairs)
}

#[cfg(test)]
mod tests {
    use super::super::{EventAuth, Handler};
    use super::*;
    use crate::emulator::data::PortalEvent;

    #[test]
    fn body_matches_the_documented_event() {
        let (hub, _queue) = EventHub::new(EventAuth {
            domain: "some-domain.bitrix24.com".to_owned(),
            client_endpoint: "https://some-domain.bitrix24.com/rest/".to_owned(),
            server_endpoint: "https://oauth.bitrix.info/rest/".to_owned(),
            member_id: "d897063e1ce7c5eb9f04b9751eef5915".to_owned(),
        });
        let job = Job {
            handler: Handler {
                id: 975,
                event: "ONCRMDYNAMICITEMUPDATE".to_owned(),
                url: "http://127.0.0.1:1/".to_owned(),
                token: "jvh9y1ulvt2m6k5or90v9mg8nn32ozas".to_owned(),
            },
            event: PortalEvent {
                name: "ONCRMDYNAMICITEMUPDATE".to_owned(),
                id: 24,
                entity_type_id: Some(31),
            },
        };
        let expected = "event=ONCRMDYNAMICITEMUPDATE&event_handler_id=975&data%5BFIELDS%5D%5BID%5D=24&data%5BFIELDS%5D%5BENTITY_TYPE_ID%5D=31&ts=1723538517&auth%5Bdomain%5D=some-domain.bitrix24.com&auth%5Bclient_endpoint%5D=https%3A%2F%2Fsome-domain.bitrix24.com%2Frest%2F&auth%5Bserver_endpoint%5D=https%3A%2F%2Foauth.bitrix.info%2Frest%2F&auth%5Bmember_id%5D=d897063e1ce7c5eb9f04b9751eef5915&auth%5Bapplication_token%5D=jvh9y1ulvt2m6k5or90v9mg8nn32ozas";
        assert_eq!(event_body(&hub, &job, 1723538517), expected);
    }
}
