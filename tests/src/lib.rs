//! A whole cabinet on loopback for end-to-end tests: the Bitrix24 emulator,
//! lk-web's pages and event endpoint on port 0, and the sync engine stepped
//! by the test (no background loops, so nothing races the assertions).

use std::sync::Arc;

use anyhow::Context;
use bitrix_lk_core::LkConfig;
use bitrix24_client::emulator::{Emulator, EmulatorOptions, Portal, RateLimit, Seed};
use lk_web::server::{self, Cabinet};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub mod faults;

/// The events the cabinet subscribes to, as in the demo.
pub use lk_web::demo::SUBSCRIBED_EVENTS;

/// The emulator, the cabinet and an HTTP client with a cookie jar.
#[derive(Debug)]
pub struct World {
    /// The fake portal.
    pub emulator: Emulator,
    /// The portal's data handle.
    pub portal: Portal,
    /// The cabinet's parts (engine, store).
    pub cabinet: Cabinet,
    /// `http://127.0.0.1:PORT` of the cabinet.
    pub base_url: String,
    stop: Option<oneshot::Sender<()>>,
    _data: tempfile::TempDir,
}

impl World {
    /// Starts the emulator with `seed` and the cabinet against it, with the
    /// outgoing webhooks registered. The rate limit is off unless `limited`.
    pub async fn start(seed: Seed, limited: bool) -> anyhow::Result<World> {
        let limit = if limited {
            RateLimit::standard()
        } else {
            RateLimit::Off
        };
        let emulator =
            Emulator::start(EmulatorOptions::default().seed(seed).rate_limit(limit)).await?;
        let portal = emulator.portal();

        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let webhook = portal
            .add_outgoing_webhook(&format!("http://{address}/b24/events"), &SUBSCRIBED_EVENTS)?;

        let data = tempfile::tempdir()?;
        let config = test_config(
            &emulator,
            webhook.application_token,
            data.path().join("lk.sqlite3"),
        );
        let cabinet = server::assemble(Arc::new(config)).context("assemble the cabinet")?;

        let (stop, stopped) = oneshot::channel::<()>();
        let state = cabinet.state.clone();
        tokio::spawn(server::serve_without_engine(state, listener, async {
            let _ = stopped.await;
        }));

        Ok(World {
            emulator,
            portal,
            cabinet,
            base_url: format!("http://{address}"),
            stop: Some(stop),
            _data: data,
        })
    }

    /// Lets every queued event arrive and the engine process it, repeatedly,
    /// until the cabinet's own write-backs stop causing new events.
    pub async fn settle(&self) {
        for _ in 0..5 {
            self.portal.wait_for_deliveries().await;
            self.cabinet.engine.drain_queues().await;
            self.portal.wait_for_deliveries().await;
            let stats = self.cabinet.store.queue_stats().await.unwrap_or_default();
            if stats.inbox_pending == 0 && stats.outbox_pending == 0 {
                return;
            }
        }
    }

    /// Returns a browser-like HTTP client for this cabinet (cookies kept, no redirects followed).
    pub fn browser(&self) -> anyhow::Result<Browser> {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Browser {
            http,
            base_url: self.base_url.clone(),
        })
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The configuration of a test cabinet: the firm's defaults against the
/// emulator, with cheap password hashing.
pub fn test_config(emulator: &Emulator, token: String, store: std::path::PathBuf) -> LkConfig {
    let mut config = LkConfig::default();
    config.bitrix24.webhook_url = Some(SecretString::from(emulator.webhook_url()));
    config.bitrix24.application_tokens = vec![SecretString::from(token)];
    config.store.path = store;
    config.accounts.hash_memory_kib = 1024;
    config.accounts.hash_iterations = 1;
    config
}

/// An HTTP client acting as the client's browser.
#[derive(Debug)]
pub struct Browser {
    http: reqwest::Client,
    base_url: String,
}

/// A page as the browser got it.
#[derive(Debug)]
pub struct Page {
    /// The HTTP status.
    pub status: u16,
    /// The `Location` header of a redirect.
    pub location: Option<String>,
    /// The body.
    pub html: String,
}

impl Browser {
    /// Fetches a page.
    pub async fn get(&self, path: &str) -> anyhow::Result<Page> {
        let response = self
            .http
            .get(format!("{}{path}", self.base_url))
            .send()
            .await?;
        page(response).await
    }

    /// Posts a form.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<Page> {
        let response = self
            .http
            .post(format!("{}{path}", self.base_url))
            .form(form)
            .send()
            .await?;
        page(response).await
    }

    /// Posts a multipart upload with the session's CSRF token.
    pub async fn upload(
        &self,
        path: &str,
        csrf: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> anyhow::Result<Page> {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned());
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.to_owned())
            .part("file", part);
        let response = self
            .http
            .post(format!("{}{path}", self.base_url))
            .multipart(form)
            .send()
            .await?;
        page(response).await
    }

    /// Logs in through the form; fails unless the cabinet redirects to «Мое дело».
    pub async fn log_in(&self, login: &str, password: &str) -> anyhow::Result<()> {
        let form_page = self.get("/login").await?;
        let csrf = csrf_of(&form_page.html).context("login form without CSRF field")?;
        let result = self
            .post_form(
                "/login",
                &[("csrf", &csrf), ("login", login), ("password", password)],
            )
            .await?;
        anyhow::ensure!(
            result.location.as_deref() == Some("/"),
            "login refused: status {}",
            result.status
        );
        Ok(())
    }
}

async fn page(response: reqwest::Response) -> anyhow::Result<Page> {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let html = response.text().await?;
    Ok(Page {
        status,
        location,
        html,
    })
}

/// Returns the value of the first hidden `csrf` field of a page.
pub fn csrf_of(html: &str) -> Option<String> {
    let start = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    html[start..].split('"').next().map(str::to_owned)
}

/// Returns the value of the page's `data-progress` attribute.
pub fn progress_of(html: &str) -> Option<u8> {
    let start = html.find("data-progress=\"")? + "data-progress=\"".len();
    html[start..].split('"').next()?.parse().ok()
}

/// Returns the text of the element carrying `data-amount="{kind}"`.
pub fn amount_of(html: &str, kind: &str) -> Option<String> {
    let marker = format!("data-amount=\"{kind}\"");
    let start = html.find(&marker)?;
    let after = &html[start..];
    let text_start = after.find('>')? + 1;
    let text_end = after[text_start..].find('<')?;
    Some(after[text_start..text_start + text_end].trim().to_owned())
}
