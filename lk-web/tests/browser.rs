//! Browser test: a client logs in to the cabinet in headless Chromium and
//! walks every page, on a phone screen and a desktop screen.
//!
//! Needs the Debian packages `chromium` and `chromium-driver`, and fails
//! without them. Full-page screenshots of every page go to
//! `target/screenshots/{page}-{phone|desktop}.png` for a person to review.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use bitrix_lk_core::{DealId, LkConfig, Store, WriteBack};
use fantoccini::{Client, Locator};

use support::cabinet::{
    self, CASE_DEAL, CASE_STAGE_NAME, CLIENT_STATUS, COMPANY_MESSAGE, COURT_LINK, Credentials,
    INCOME_FIELD, RECEIVED_FIELDS, RunningCabinet,
};
use support::chrome::{self, ChromeDriver, Screen};

/// How long a page may take to appear after a click or a form submission.
const PAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// The stage icons of a case in the third of five steps, in page order.
const MID_CASE_STEPS: [&str; 5] = ["done", "done", "current", "pending", "pending"];

/// Number, payment date and amount of the case client's paid invoices, oldest first.
const PAID_INVOICE_ROWS: [[&str; 3]; 2] = [
    ["Счёт № 2024-017", "05.09.2024", "50 000,00 ₽"],
    ["Счёт № 2024-031", "07.10.2024", "30 000,00 ₽"],
];

/// The pages a blocked debtor may try. Each must show the debtor notice.
const DEBTOR_PATHS: [&str; 6] = [
    "/",
    "/payments",
    "/documents",
    "/statuses",
    "/password",
    "/debtor",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_walks_every_page() -> anyhow::Result<()> {
    let cabinet = cabinet::start().await?;
    let driver = tokio::task::spawn_blocking(ChromeDriver::start).await??;
    let browser = driver.open_browser().await?;
    let upload_dir = tempfile::tempdir()?;

    login_page(&browser, &cabinet).await?;
    log_in(&browser, &cabinet, &cabinet.case_client).await?;
    case_page(&browser, &cabinet).await?;
    payments_page(&browser, &cabinet).await?;
    documents_page(&browser, &cabinet, upload_dir.path()).await?;
    statuses_page(&browser, &cabinet).await?;
    let new_password = password_page(&browser, &cabinet).await?;
    log_out(&browser, &cabinet).await?;

    old_password_is_refused(&browser, &cabinet).await?;
    let changed = Credentials {
        login: cabinet.case_client.login.clone(),
        password: new_password,
    };
    log_in(&browser, &cabinet, &changed).await?;
    assert_eq!(
        text(&browser, "h1").await?,
        "Мое дело",
        "no case page after login with the new password"
    );
    log_out(&browser, &cabinet).await?;

    log_in(&browser, &cabinet, &cabinet.debtor_client).await?;
    debtor_pages(&browser, &cabinet).await?;
    log_out(&browser, &cabinet).await?;

    browser.close().await?;
    Ok(())
}

async fn login_page(browser: &Client, cabinet: &RunningCabinet) -> anyhow::Result<()> {
    browser.goto(&cabinet.url("/login")).await?;
    assert_eq!(text(browser, "h1").await?, "Вход в личный кабинет");
    photograph(browser, "login").await
}

async fn case_page(browser: &Client, cabinet: &RunningCabinet) -> anyhow::Result<()> {
    assert_eq!(text(browser, "h1").await?, "Мое дело");
    assert_eq!(text(browser, "#company-message p").await?, COMPANY_MESSAGE);
    assert_eq!(text(browser, "#stage-name").await?, CASE_STAGE_NAME);
    assert!(
        text(browser, "#client-status")
            .await?
            .contains(CLIENT_STATUS),
        "«Статус для ЛК клиента» is not shown"
    );
    assert_eq!(
        attribute(browser, "#court-link", "href").await?.as_deref(),
        Some(COURT_LINK)
    );

    assert_eq!(stage_states(browser).await?, MID_CASE_STEPS, "stage icons");
    let progress = attribute(browser, "[data-progress]", "data-progress").await?;
    assert_eq!(
        progress.as_deref(),
        Some("40"),
        "progress bar: 2 of 5 steps done"
    );
    let current = browser
        .find(Locator::Css("[data-stage-state=\"current\"]"))
        .await?;
    assert_eq!(
        current.attr("title").await?.as_deref(),
        Some(CASE_STAGE_NAME)
    );

    assert_eq!(
        text(browser, "[data-amount=\"contract\"]").await?,
        "150 000,00 ₽"
    );
    assert_eq!(
        text(browser, "[data-amount=\"paid\"]").await?,
        "80 000,00 ₽"
    );
    assert_eq!(
        text(browser, "[data-amount=\"remaining\"]").await?,
        "70 000,00 ₽"
    );

    let account = cabinet
        .store
        .account_by_deal(CASE_DEAL)
        .await?
        .context("the case client has no account")?;
    assert_eq!(
        text(browser, "#referral-code").await?,
        account.referral_code.to_string()
    );
    photograph(browser, "case").await
}

/// Opens the paid invoices from the paid amount on «Мое дело».
async fn payments_page(browser: &Client, cabinet: &RunningCabinet) -> anyhow::Result<()> {
    browser
        .find(Locator::Css("[data-amount=\"paid\"]"))
        .await?
        .click()
        .await?;
    wait_for_page(browser, cabinet, "/payments").await?;

    assert_eq!(text(browser, "h1").await?, "Мои оплаты");
    let rows = texts(browser, "tr[data-invoice]").await?;
    assert_eq!(
        rows.len(),
        2,
        "expected the two paid invoices, found {rows:?}"
    );
    for (row, expected) in rows.iter().zip(PAID_INVOICE_ROWS) {
        for cell in expected {
            assert!(
                row.contains(cell),
                "paid invoice row {row:?} lacks {cell:?}"
            );
        }
    }
    assert!(
        !browser.source().await?.contains("2024-048"),
        "the unpaid invoice is listed as paid"
    );
    assert_eq!(
        text(browser, "[data-amount=\"paid\"]").await?,
        "80 000,00 ₽"
    );
    photograph(browser, "payments").await
}

/// Checks the sixteen documents and uploads a PDF to a missing one through the file input.
async fn documents_page(
    browser: &Client,
    cabinet: &RunningCabinet,
    upload_dir: &Path,
) -> anyhow::Result<()> {
    browser.goto(&cabinet.url("/documents")).await?;
    assert_eq!(text(browser, "h1").await?, "Список необходимых документов");

    let expected_fields: Vec<String> = LkConfig::default()
        .documents
        .iter()
        .map(|doc| doc.field.as_str().to_owned())
        .collect();
    let rows = browser
        .find_all(Locator::Css("[data-document-state]"))
        .await?;
    assert_eq!(rows.len(), 16);
    for (row, field) in rows.iter().zip(&expected_fields) {
        assert_eq!(
            row.attr("data-field").await?.as_deref(),
            Some(field.as_str()),
            "documents out of order"
        );
        let expected_state = if RECEIVED_FIELDS.contains(&field.as_str()) {
            "received"
        } else {
            "missing"
        };
        assert_eq!(
            row.attr("data-document-state").await?.as_deref(),
            Some(expected_state),
            "{field}"
        );
    }

    let pdf = upload_dir.join("spravka-2-ndfl.pdf");
    std::fs::write(
        &pdf,
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
    )?;
    let row = format!("[data-field=\"{INCOME_FIELD}\"]");
    let input = browser
        .find(Locator::Css(&format!("{row} input[type=\"file\"]")))
        .await?;
    input.send_keys(&pdf.to_string_lossy()).await?;
    browser
        .find(Locator::Css(&format!("{row} button[type=\"submit\"]")))
        .await?
        .click()
        .await?;
    let result = browser
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Css("#upload-result"))
        .await?;

    let notice = result.text().await?;
    assert!(
        notice.contains("«2-НДФЛ за последние 3 года» получен"),
        "upload notice: {notice}"
    );
    let class = result.attr("class").await?.unwrap_or_default();
    assert!(
        class.contains("success"),
        "the upload notice is not a success notice: class {class:?}"
    );
    assert!(
        document_queued(cabinet, CASE_DEAL, INCOME_FIELD),
        "the uploaded file was not queued for Bitrix24"
    );
    photograph(browser, "documents").await
}

fn document_queued(cabinet: &RunningCabinet, deal: DealId, field: &str) -> bool {
    cabinet.store.outbox_items().iter().any(|item| {
        matches!(&item.write, WriteBack::Document { deal_id, field: queued, .. } if *deal_id == deal && queued.as_str() == field)
    })
}

async fn statuses_page(browser: &Client, cabinet: &RunningCabinet) -> anyhow::Result<()> {
    browser.goto(&cabinet.url("/statuses")).await?;
    assert_eq!(text(browser, "h1").await?, "Подробное описание статусов");
    assert_eq!(stage_states(browser).await?, MID_CASE_STEPS);
    assert_eq!(
        count(browser, "#video").await?,
        0,
        "a video block is shown though no video is configured"
    );

    let current = text(browser, "[data-stage-state=\"current\"]").await?;
    assert!(current.contains(CASE_STAGE_NAME), "{current}");
    assert!(
        current.contains("Заявление подано в арбитражный суд"),
        "the current stage has no description: {current}"
    );
    photograph(browser, "statuses").await
}

/// Changes the password through the form and returns the new one.
async fn password_page(browser: &Client, cabinet: &RunningCabinet) -> anyhow::Result<String> {
    browser.goto(&cabinet.url("/password")).await?;
    assert_eq!(text(browser, "h1").await?, "Смена пароля");
    photograph(browser, "password").await?;

    let new_password = "Vesna-2025-Sad";
    type_into(
        browser,
        "input[name=\"current\"]",
        &cabinet.case_client.password,
    )
    .await?;
    type_into(browser, "input[name=\"new\"]", new_password).await?;
    type_into(browser, "input[name=\"repeat\"]", new_password).await?;
    browser
        .find(Locator::Css("main button[type=\"submit\"]"))
        .await?
        .click()
        .await?;
    let notice = browser
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Css("main [role=\"status\"]"))
        .await?;
    assert_eq!(notice.text().await?, "Пароль изменён.");
    Ok(new_password.to_owned())
}

async fn old_password_is_refused(browser: &Client, cabinet: &RunningCabinet) -> anyhow::Result<()> {
    submit_login(browser, cabinet, &cabinet.case_client).await?;
    let error = browser
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Css("#login-error"))
        .await?;
    assert_eq!(error.text().await?, "Неверный логин или пароль.");
    Ok(())
}

/// Checks that every page shows the debtor notice with the debtor's own figures.
async fn debtor_pages(browser: &Client, cabinet: &RunningCabinet) -> anyhow::Result<()> {
    for path in DEBTOR_PATHS {
        browser.goto(&cabinet.url(path)).await?;
        assert_eq!(
            count(browser, "#debtor-notice").await?,
            1,
            "{path} does not show the debtor notice"
        );
        assert_eq!(
            count(browser, "nav a[href=\"/documents\"]").await?,
            0,
            "{path} offers the blocked pages"
        );
    }

    let notice = text(browser, "#debtor-notice").await?;
    assert!(
        notice.contains("задолженность"),
        "the debtor notice gives no reason: {notice}"
    );
    assert_eq!(
        text(browser, "[data-amount=\"contract\"]").await?,
        "120 000,00 ₽"
    );
    assert_eq!(
        text(browser, "[data-amount=\"paid\"]").await?,
        "20 000,00 ₽"
    );
    assert_eq!(
        text(browser, "[data-amount=\"remaining\"]").await?,
        "100 000,00 ₽"
    );
    assert!(
        !browser.source().await?.contains(COMPANY_MESSAGE),
        "the debtor sees another client's deal"
    );
    photograph(browser, "debtor").await
}

async fn log_in(
    browser: &Client,
    cabinet: &RunningCabinet,
    client: &Credentials,
) -> anyhow::Result<()> {
    submit_login(browser, cabinet, client).await?;
    wait_for_page(browser, cabinet, "/").await
}

async fn submit_login(
    browser: &Client,
    cabinet: &RunningCabinet,
    client: &Credentials,
) -> anyhow::Result<()> {
    browser.goto(&cabinet.url("/login")).await?;
    type_into(browser, "input[name=\"login\"]", &client.login).await?;
    type_into(browser, "input[name=\"password\"]", &client.password).await?;
    browser
        .find(Locator::Css("main button[type=\"submit\"]"))
        .await?
        .click()
        .await?;
    Ok(())
}

async fn log_out(browser: &Client, cabinet: &RunningCabinet) -> anyhow::Result<()> {
    browser
        .find(Locator::Css("form[action=\"/logout\"] button"))
        .await?
        .click()
        .await?;
    wait_for_page(browser, cabinet, "/login").await?;

    browser.goto(&cabinet.url("/")).await?;
    let path = browser.current_url().await?.path().to_owned();
    assert_eq!(
        path, "/login",
        "the session still opens «Мое дело» after logout"
    );
    Ok(())
}

async fn type_into(browser: &Client, css: &str, value: &str) -> anyhow::Result<()> {
    let input = browser.find(Locator::Css(css)).await?;
    input.clear().await?;
    input.send_keys(value).await?;
    Ok(())
}

/// Waits until the browser shows `path` of the cabinet, after a click that navigates.
async fn wait_for_page(
    browser: &Client,
    cabinet: &RunningCabinet,
    path: &str,
) -> anyhow::Result<()> {
    let expected = url::Url::parse(&cabinet.url(path))?;
    let waited = browser
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_url(&expected)
        .await;
    if waited.is_err() {
        let current = browser.current_url().await?;
        anyhow::bail!("expected page {expected}, the browser is at {current}");
    }
    Ok(())
}

async fn text(browser: &Client, css: &str) -> anyhow::Result<String> {
    let element = browser
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("no element {css}"))?;
    Ok(element.text().await?)
}

async fn texts(browser: &Client, css: &str) -> anyhow::Result<Vec<String>> {
    let mut texts = Vec::new();
    for element in browser.find_all(Locator::Css(css)).await? {
        texts.push(element.text().await?);
    }
    Ok(texts)
}

async fn attribute(browser: &Client, css: &str, name: &str) -> anyhow::Result<Option<String>> {
    let element = browser
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("no element {css}"))?;
    Ok(element.attr(name).await?)
}

async fn count(browser: &Client, css: &str) -> anyhow::Result<usize> {
    Ok(browser.find_all(Locator::Css(css)).await?.len())
}

async fn stage_states(browser: &Client) -> anyhow::Result<Vec<String>> {
    let mut states = Vec::new();
    for icon in browser.find_all(Locator::Css("[data-stage-state]")).await? {
        states.push(icon.attr("data-stage-state").await?.unwrap_or_default());
    }
    Ok(states)
}

/// Saves the current page at both screens and checks that it fits the phone's width.
async fn photograph(browser: &Client, page: &str) -> anyhow::Result<()> {
    let directory = screenshot_dir();
    std::fs::create_dir_all(&directory)?;
    for screen in Screen::ALL {
        chrome::use_screen(browser, screen).await?;
        let path = directory.join(format!("{page}-{}.png", screen.name()));
        chrome::save_full_page(browser, &path).await?;

        let width = browser
            .execute("return document.documentElement.scrollWidth;", Vec::new())
            .await?;
        let width = width.as_u64().context("scrollWidth is not a number")?;
        assert!(
            width <= u64::from(screen.width()),
            "page {page} is {width}px wide on a {}px {} screen and scrolls sideways; see {}",
            screen.width(),
            screen.name(),
            path.display()
        );
    }
    Ok(())
}

fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots")
}
