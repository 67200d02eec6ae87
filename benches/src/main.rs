//! `lk-bench`: figures for the cabinet under load.
//!
//! Each scenario starts the Bitrix24 emulator with the cloud rate limit
//! (2 requests per second, burst 50) on loopback and runs the real cabinet
//! against it. `page` and `login` run the `lk-web` binary, `events` and
//! `provision` the library's server and sync engine in this process, and
//! `sync` the sync engine alone. The run prints one table and writes
//! `target/lk-bench/results.json`. See BENCHMARKS.md for the latest figures.

mod cabinet;
mod child;
mod fixture;
mod http;
mod load;
mod machine;
mod report;
mod scenarios;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};

use crate::machine::Machine;
use crate::report::RunReport;

/// Benchmarks of the client cabinet against the Bitrix24 emulator.
#[derive(Debug, Parser)]
#[command(name = "lk-bench", version, about)]
struct Args {
    /// The scenario to run; `all` runs every scenario in turn.
    #[arg(value_enum, default_value_t = Scenario::All)]
    scenario: Scenario,

    /// The lk-web binary to run. Default: `lk-web` next to this binary, built
    /// first with `cargo build -p lk-web` in the same profile.
    #[arg(long, value_name = "PATH")]
    lk_web: Option<PathBuf>,

    /// The directory for results.json and the lk-web logs.
    /// Default: `target/lk-bench` of the workspace.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// A benchmark scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Every scenario below, in this order.
    All,
    /// «Мое дело» over keep-alive HTTP, 64 clients, 10,000 accounts.
    Page,
    /// 1,000 deal-update events posted at once.
    Events,
    /// 1,000 deals set to «Создать» at once.
    Provision,
    /// Full resync of 10,000 and 100,000 deals.
    Sync,
    /// Password hashing and login latency.
    Login,
}

const EVERY_SCENARIO: [Scenario; 5] = [
    Scenario::Page,
    Scenario::Events,
    Scenario::Provision,
    Scenario::Sync,
    Scenario::Login,
];

/// The settings every scenario shares.
#[derive(Debug)]
pub struct Context {
    /// The directory for logs and results.
    pub out_dir: PathBuf,
    lk_web_arg: Option<PathBuf>,
    lk_web: OnceLock<PathBuf>,
}

impl Context {
    /// Returns the lk-web binary, building it on first use unless `--lk-web` named one.
    pub fn lk_web(&self) -> anyhow::Result<PathBuf> {
        if let Some(path) = self.lk_web.get() {
            return Ok(path.clone());
        }
        let path = match &self.lk_web_arg {
            Some(path) => path.clone(),
            None => child::locate_lk_web(true)?,
        };
        Ok(self.lk_web.get_or_init(|| path).clone())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lk-bench: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let args = Args::parse();

    let out_dir = match args.out {
        Some(dir) => dir,
        None => default_out_dir(),
    };
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("failed to create {}", out_dir.display()))?;
    let ctx = Context {
        out_dir,
        lk_web_arg: args.lk_web,
        lk_web: OnceLock::new(),
    };
    if matches!(
        args.scenario,
        Scenario::All | Scenario::Page | Scenario::Login
    ) {
        ctx.lk_web()?;
    }

    let selected: Vec<Scenario> = match args.scenario {
        Scenario::All => EVERY_SCENARIO.to_vec(),
        one => vec![one],
    };
    let mut run = RunReport {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        started_at: jiff::Timestamp::now().to_string(),
        machine: Machine::detect(),
        scenarios: Vec::new(),
    };
    for scenario in selected {
        let name = scenario_name(scenario);
        eprintln!("lk-bench: running {name}");
        let started = Instant::now();
        let mut report = run_one(scenario, &ctx)
            .await
            .with_context(|| format!("scenario {name} failed"))?;
        report.wall_seconds = started.elapsed().as_secs_f64();
        eprintln!("lk-bench: {name} done in {:.0} s", report.wall_seconds);
        run.scenarios.push(report);
    }

    println!("{}", run.table());
    println!("{}", run.notes());
    let json = ctx.out_dir.join("results.json");
    run.write_json(&json)?;
    println!("results written to {}", json.display());
    Ok(())
}

async fn run_one(scenario: Scenario, ctx: &Context) -> anyhow::Result<report::ScenarioReport> {
    match scenario {
        Scenario::Page => scenarios::page::run(ctx).await,
        Scenario::Events => scenarios::events::run(ctx).await,
        Scenario::Provision => scenarios::provision::run(ctx).await,
        Scenario::Sync => scenarios::sync::run(ctx).await,
        Scenario::Login => scenarios::login::run(ctx).await,
        Scenario::All => anyhow::bail!("`all` is not a single scenario"),
    }
}

fn scenario_name(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::All => "all",
        Scenario::Page => "page",
        Scenario::Events => "events",
        Scenario::Provision => "provision",
        Scenario::Sync => "sync",
        Scenario::Login => "login",
    }
}

/// Returns `target/lk-bench` of the workspace this crate was built in.
fn default_out_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest.parent().map_or(manifest.clone(), PathBuf::from);
    workspace.join("target").join("lk-bench")
}
