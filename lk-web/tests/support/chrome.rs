//! Headless Chromium through chromedriver (Debian packages `chromium` and
//! `chromium-driver`), with phone and desktop screens and full-page screenshots.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use anyhow::{Context, bail};
use axum::http::Method;
use base64::Engine;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value as Json, json};
use tempfile::TempDir;

/// The line chromedriver prints once it accepts connections, followed by the port.
const STARTED_PREFIX: &str = "ChromeDriver was started successfully on port ";

/// A viewport the pages are checked and photographed at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// 390×844 CSS pixels (the viewport of an iPhone 12 to 14), with touch and mobile viewport rules.
    Phone,
    /// 1280×900 CSS pixels, a laptop.
    Desktop,
}

impl Screen {
    pub const ALL: [Screen; 2] = [Screen::Phone, Screen::Desktop];

    pub fn name(self) -> &'static str {
        match self {
            Screen::Phone => "phone",
            Screen::Desktop => "desktop",
        }
    }

    pub fn width(self) -> u32 {
        match self {
            Screen::Phone => 390,
            Screen::Desktop => 1280,
        }
    }

    fn height(self) -> u32 {
        match self {
            Screen::Phone => 844,
            Screen::Desktop => 900,
        }
    }
}

/// A running chromedriver. Dropping it kills chromedriver and every Chromium
/// process it started, also when the test panics.
#[derive(Debug)]
pub struct ChromeDriver {
    process: Child,
    port: u16,
    chromium: PathBuf,
    profile: TempDir,
}

impl ChromeDriver {
    /// Starts chromedriver on a loopback port it picks itself and returns once
    /// it has printed that it accepts connections.
    ///
    /// Fails when `chromium` or `chromedriver` is not on `PATH`: the browser
    /// test is part of the suite and must not pass without a browser.
    pub fn start() -> anyhow::Result<ChromeDriver> {
        let chromium = find_program(&["chromium", "chromium-browser"])?;
        let driver = find_program(&["chromedriver"])?;
        let profile = tempfile::Builder::new()
            .prefix("lk-browser-profile-")
            .tempdir()?;

        let mut process = Command::new(&driver)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // A process group of its own, so Drop can end Chromium together with chromedriver.
            .process_group(0)
            .spawn()
            .with_context(|| format!("failed to start {}", driver.display()))?;
        let stdout = process
            .stdout
            .take()
            .context("chromedriver stdout is not piped")?;

        let mut driver = ChromeDriver {
            process,
            port: 0,
            chromium,
            profile,
        };
        driver.port = wait_until_listening(stdout)?;
        Ok(driver)
    }

    /// Opens a WebDriver session with a fresh headless Chromium.
    pub async fn open_browser(&self) -> anyhow::Result<Client> {
        let capabilities = json!({
            "browserName": "chrome",
            "timeouts": { "pageLoad": 30_000, "script": 10_000, "implicit": 0 },
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": self.chromium_args(),
            },
        });
        let Json::Object(capabilities) = capabilities else {
            bail!("capabilities must be a JSON object");
        };
        // Plain HTTP: chromedriver listens on loopback only, so TLS would add nothing.
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .context("chromedriver failed to start a Chromium session")?;
        Ok(client)
    }

    /// Returns the Chromium flags: headless, no sandbox (containers), and nothing that
    /// reaches the network on its own, because the machine has only loopback.
    fn chromium_args(&self) -> Vec<String> {
        let fixed = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            // Screenshots without a scrollbar gutter, so desktop shots are the full 1280 pixels wide.
            "--hide-scrollbars",
        ];
        let mut args: Vec<String> = fixed.iter().map(|arg| (*arg).to_owned()).collect();
        args.push(format!("--user-data-dir={}", self.profile.path().display()));
        args
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let group = format!("-{}", self.process.id());
        let killed = Command::new("kill").args(["-KILL", "--", &group]).status();
        if !killed.is_ok_and(|status| status.success()) {
            let _ = self.process.kill();
        }
        let _ = self.process.wait();
    }
}

/// Returns the first of `names` found on `PATH`.
fn find_program(names: &[&str]) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for directory in std::env::split_paths(&path) {
        for name in names {
            let candidate = directory.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "{} not found on PATH; the browser test needs the Debian packages chromium and chromium-driver \
         (apt-get install chromium chromium-driver)",
        names.join(" or ")
    )
}

/// Reads chromedriver's output until it reports its port. A chromedriver that
/// exits first ends the output, which fails with what it printed.
fn wait_until_listening(stdout: ChildStdout) -> anyhow::Result<u16> {
    let mut lines = BufReader::new(stdout);
    let mut printed = String::new();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line)? == 0 {
            bail!("chromedriver exited before it was ready; it printed:\n{printed}");
        }
        printed.push_str(&line);
        if let Some(rest) = line.trim().strip_prefix(STARTED_PREFIX) {
            let port = rest
                .trim_end_matches('.')
                .parse()
                .with_context(|| format!("no port in {line:?}"))?;
            drain_in_background(lines);
            return Ok(port);
        }
    }
}

/// Keeps reading chromedriver's output, so a full pipe never blocks it.
fn drain_in_background(mut output: impl Read + Send + 'static) {
    std::thread::spawn(move || std::io::copy(&mut output, &mut std::io::sink()));
}

/// A Chrome DevTools Protocol command sent through chromedriver's
/// `goog/cdp/execute` endpoint, for what WebDriver itself lacks: device
/// emulation and screenshots beyond the viewport.
#[derive(Debug)]
struct DevToolsCommand {
    method: &'static str,
    params: Json,
}

impl WebDriverCompatibleCommand for DevToolsCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/goog/cdp/execute"))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (Method, Option<String>) {
        let body = json!({ "cmd": self.method, "params": self.params });
        (Method::POST, Some(body.to_string()))
    }
}

async fn devtools(client: &Client, method: &'static str, params: Json) -> anyhow::Result<Json> {
    client
        .issue_cmd(DevToolsCommand { method, params })
        .await
        .with_context(|| format!("DevTools command {method} failed"))
}

/// Makes the page render as on `screen`, also after later navigations.
pub async fn use_screen(client: &Client, screen: Screen) -> anyhow::Result<()> {
    let params = json!({
        "width": screen.width(),
        "height": screen.height(),
        "deviceScaleFactor": 1,
        "mobile": screen == Screen::Phone,
    });
    devtools(client, "Emulation.setDeviceMetricsOverride", params).await?;
    let touch = json!({ "enabled": screen == Screen::Phone, "maxTouchPoints": 5 });
    devtools(client, "Emulation.setTouchEmulationEnabled", touch).await?;
    Ok(())
}

/// Saves a PNG of the whole page, below the fold included, at `path`.
pub async fn save_full_page(client: &Client, path: &Path) -> anyhow::Result<()> {
    let metrics = devtools(client, "Page.getLayoutMetrics", json!({})).await?;
    let content = &metrics["cssContentSize"];
    let (Some(width), Some(height)) = (content["width"].as_f64(), content["height"].as_f64())
    else {
        bail!("Page.getLayoutMetrics returned no content size: {metrics}");
    };

    let params = json!({
        "format": "png",
        "captureBeyondViewport": true,
        "clip": { "x": 0, "y": 0, "width": width.ceil(), "height": height.ceil(), "scale": 1 },
    });
    let shot = devtools(client, "Page.captureScreenshot", params).await?;
    let data = shot["data"].as_str().with_context(|| {
        format!(
            "Page.captureScreenshot returned no data for {}",
            path.display()
        )
    })?;
    let png = base64::engine::general_purpose::STANDARD.decode(data)?;
    std::fs::write(path, png).with_context(|| format!("failed to write {}", path.display()))?;
    Ok(())
}
