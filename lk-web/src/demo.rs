//! `lk-web --demo`: the whole product on one machine, with no Bitrix24.
//!
//! Starts the Bitrix24 emulator seeded with the firm's fields, the case
//! pipeline and demo clients in every interesting state, registers the
//! cabinet's outgoing webhooks in it, and starts the cabinet against it.
//! Staff «set» the account trigger on each demo deal after the cabinet is
//! listening, so accounts are created through the real event path: event,
//! inbox, provisioning, write-back of login and password into the deal.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bitrix_lk_core::LkConfig;
use bitrix24_client::emulator::{Emulator, EmulatorOptions, Portal, Seed, UfValue, seed};
use secrecy::SecretString;
use tokio::net::TcpListener;

use crate::server::{self, Cabinet};

/// The events the cabinet subscribes to, as an administrator would in Bitrix24.
pub const SUBSCRIBED_EVENTS: [&str; 7] = [
    "ONCRMDEALUPDATE",
    "ONCRMDEALADD",
    "ONCRMDEALDELETE",
    "ONCRMDYNAMICITEMADD",
    "ONCRMDYNAMICITEMUPDATE",
    "ONCRMDYNAMICITEMDELETE",
    "ONCRMINVOICEUPDATE",
];

/// How long the demo waits for the first accounts before printing what it has.
const PROVISIONING_WAIT: Duration = Duration::from_secs(60);

/// Options of `lk-web --demo`.
#[derive(Debug, Default)]
pub struct DemoOptions {
    /// The cabinet's listen address; default 127.0.0.1:8080.
    pub listen: Option<SocketAddr>,
    /// The folder of the demo's SQLite file; default a temporary directory.
    pub data: Option<PathBuf>,
}

/// A running demo: the emulator and the cabinet's address.
#[derive(Debug)]
pub struct Demo {
    /// The fake portal.
    pub emulator: Emulator,
    /// The cabinet's assembled parts.
    pub cabinet: Cabinet,
    /// The cabinet's listener, not yet served.
    pub listener: TcpListener,
    /// The temporary data directory, removed when dropped.
    pub temp_dir: Option<tempfile::TempDir>,
}

/// Runs the demo until Ctrl+C.
pub async fn run(options: DemoOptions) -> anyhow::Result<()> {
    let listen = options
        .listen
        .unwrap_or(SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)));
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("не удалось занять адрес {listen}"))?;
    let demo = prepare(listener, options.data).await?;
    let address = demo.listener.local_addr()?;
    let portal = demo.emulator.portal();
    let staff_url = demo.emulator.staff_panel_url();

    let cabinet = demo.cabinet.clone();
    let serve = tokio::spawn(server::serve(
        demo.cabinet,
        demo.listener,
        server::shutdown_signal(),
    ));
    let deals = trigger_accounts(&portal)?;
    reissue_kept_accounts(&cabinet, &deals).await?;
    let credentials = wait_for_credentials(&portal, &deals).await;
    print_welcome(address, &staff_url, &credentials);

    serve
        .await
        .context("сервер кабинета остановился с ошибкой")??;
    demo.emulator.shutdown().await;
    drop(demo.temp_dir);
    Ok(())
}

/// Starts the emulator and assembles the cabinet over it, without serving yet.
pub async fn prepare(listener: TcpListener, data: Option<PathBuf>) -> anyhow::Result<Demo> {
    let emulator = Emulator::start(EmulatorOptions::default().seed(Seed::Demo))
        .await
        .context("не удалось запустить эмулятор Битрикс24")?;
    let address = listener.local_addr()?;
    let handler = format!("http://{address}/b24/events");
    let webhook = emulator
        .portal()
        .add_outgoing_webhook(&handler, &SUBSCRIBED_EVENTS)?;

    let (data_dir, temp_dir) = match data {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("каталог данных {}", dir.display()))?;
            (dir, None)
        }
        None => {
            let temp = tempfile::Builder::new().prefix("lk-demo-").tempdir()?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };

    let config = demo_config(
        &emulator,
        webhook.application_token,
        data_dir.join("lk.sqlite3"),
        address,
    );
    let cabinet = server::assemble(Arc::new(config))?;
    Ok(Demo {
        emulator,
        cabinet,
        listener,
        temp_dir,
    })
}

fn demo_config(emulator: &Emulator, token: String, store: PathBuf, listen: SocketAddr) -> LkConfig {
    let mut config = LkConfig::default();
    config.bitrix24.webhook_url = Some(SecretString::from(emulator.webhook_url()));
    config.bitrix24.application_tokens = vec![SecretString::from(token)];
    config.store.path = store;
    config.web.listen = listen;
    config.branding.company_name = "Юридическая компания «Демо»".to_owned();
    config.branding.phone = "+7 (800) 000-00-00".to_owned();
    config.branding.email = "lk@example.com".to_owned();
    config.statuses.descriptions.extend(
        DEMO_STAGE_TEXTS
            .iter()
            .map(|(stage, text)| ((*stage).to_owned(), (*text).to_owned())),
    );
    config
}

/// Stage explanations of the demo pipeline, as a firm would write them.
const DEMO_STAGE_TEXTS: [(&str, &str); 7] = [
    (
        "Сбор документов",
        "Вы собираете документы из списка и загружаете их в кабинет. Юрист проверит каждый и подскажет, чего не хватает.",
    ),
    (
        "Подготовка заявления",
        "Юрист готовит заявление о признании вас банкротом и опись имущества.",
    ),
    (
        "Подача в суд",
        "Заявление подано в арбитражный суд. Суд назначит дату заседания.",
    ),
    (
        "Проверка обоснованности",
        "Суд проверяет, обоснованно ли заявление, и решает, какую процедуру ввести.",
    ),
    (
        "Реструктуризация долгов",
        "Суд ввёл реструктуризацию: финансовый управляющий составляет план погашения долгов.",
    ),
    (
        "Реализация имущества",
        "Финансовый управляющий проверяет имущество и сделки и рассчитывается с кредиторами.",
    ),
    (
        "Завершение процедуры",
        "Суд завершил процедуру и освободил вас от долгов.",
    ),
];

/// Sets the account trigger again on every demo deal that has it, as staff
/// would in the deal card; each change sends the cabinet an update event.
fn trigger_accounts(portal: &Portal) -> anyhow::Result<Vec<u64>> {
    let mut triggered = Vec::new();
    for deal in portal.deal_ids() {
        if portal
            .field_text(deal, seed::FIELD_CREATE_ACCOUNT)
            .as_deref()
            == Some(seed::CREATE_ACCOUNT_VALUE)
        {
            portal.set_field(
                deal,
                seed::FIELD_CREATE_ACCOUNT,
                UfValue::EnumLabel(seed::CREATE_ACCOUNT_VALUE.to_owned()),
            )?;
            triggered.push(deal);
        }
    }
    Ok(triggered)
}

/// Issues new passwords to accounts kept from an earlier run in `--data`.
///
/// The emulator starts fresh each run while the store is kept, so those
/// deals already have accounts and provisioning creates nothing: without a
/// reset the new portal would never receive their credentials.
async fn reissue_kept_accounts(cabinet: &Cabinet, deals: &[u64]) -> anyhow::Result<()> {
    for &deal in deals {
        let deal = bitrix_lk_core::DealId(deal);
        if cabinet.store.account_by_deal(deal).await?.is_some() {
            cabinet.state.provisioner().reset_password(deal).await?;
        }
    }
    cabinet.wake.notify_one();
    Ok(())
}

/// A demo client's cabinet credentials, as written into their deal.
#[derive(Debug)]
struct DemoCredentials {
    title: String,
    stage: String,
    login: String,
    password: String,
}

/// Waits until every triggered deal has its login and password written back.
async fn wait_for_credentials(portal: &Portal, deals: &[u64]) -> Vec<DemoCredentials> {
    let started = tokio::time::Instant::now();
    loop {
        let found = read_credentials(portal, deals);
        if found.len() == deals.len() || started.elapsed() > PROVISIONING_WAIT {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn read_credentials(portal: &Portal, deals: &[u64]) -> Vec<DemoCredentials> {
    deals
        .iter()
        .filter_map(|&deal| {
            let login = portal.field_text(deal, seed::FIELD_LOGIN)?;
            let password = portal.field_text(deal, seed::FIELD_PASSWORD)?;
            let snapshot = portal.deal(deal)?;
            let stage = stage_name(portal, &snapshot.stage);
            Some(DemoCredentials {
                title: snapshot.title,
                stage,
                login,
                password,
            })
        })
        .collect()
}

/// Names the stage and, outside the case pipeline, the pipeline too, so the
/// banner explains why such a client's cabinet shows «Нет статуса».
fn stage_name(portal: &Portal, stage: &str) -> String {
    for pipeline in portal.deal_pipelines() {
        if let Some(info) = pipeline.stages.iter().find(|info| info.id == stage) {
            if pipeline.name == seed::EXECUTION_PIPELINE_NAME {
                return info.name.clone();
            }
            return format!(
                "{} (воронка «{}», в кабинете «Нет статуса»)",
                info.name, pipeline.name
            );
        }
    }
    stage.to_owned()
}

fn print_welcome(address: SocketAddr, staff_url: &str, credentials: &[DemoCredentials]) {
    println!();
    println!("Демонстрация личного кабинета запущена.");
    println!();
    println!("  Кабинет клиента:    http://{address}/login");
    println!("  Панель сотрудника:  {staff_url}  (эмулятор Битрикс24)");
    println!();
    println!("Клиенты (логин и пароль записаны кабинетом в их сделки):");
    for client in credentials {
        println!(
            "  {:<12} {:<12}  {} — {}",
            client.login, client.password, client.title, client.stage
        );
    }
    if credentials.is_empty() {
        println!(
            "  (учётные записи ещё создаются; обновите панель сотрудника через несколько секунд)"
        );
    }
    println!();
    println!(
        "В панели сотрудника можно менять стадию сделки, сообщение, ссылку на дело, добавлять счета и документы — кабинет обновится сам."
    );
    println!("Журнал работы кабинета: запустите с RUST_LOG=info. Остановить: Ctrl+C.");
}
