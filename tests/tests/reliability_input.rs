//! Hostile input end to end. Events come forged, replayed, malformed and
//! oversized. CRM fields and configured texts that reach a page carry HTML,
//! scripts and `javascript:` links. Uploads have hostile names, types and
//! sizes. Each input must get a clear 4xx or be rendered harmless, and none
//! may crash the server or leave the event inbox stuck.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bitrix_lk_core::engine::ResyncMode;
use bitrix24_client::emulator::seed::{
    CREATE_ACCOUNT_VALUE, DOCUMENT_FIELDS, EXECUTION_PIPELINE_ID, FIELD_COURT_LINK,
    FIELD_CREATE_ACCOUNT, FIELD_LOGIN, FIELD_MESSAGE, FIELD_PASSWORD, FIELD_STATUS,
    STAGE_COLLECTING_DOCUMENTS, STAGE_DEBTOR,
};
use bitrix24_client::emulator::{NewDeal, NewSmartInvoice, Seed, StageSpec, UfValue};
use lk_tests::faults::{
    self, WorldOptions, application_token, deal_event_body, post_event, settle_through,
};
use lk_tests::{Browser, World, csrf_of};

/// The demo client whose cabinet carries the hostile values.
const IVANOV: u64 = 1;

async fn provisioned(options: WorldOptions) -> World {
    let world = faults::start(options).await.unwrap();
    world
        .cabinet
        .engine
        .resync(ResyncMode::Full, &|_| {})
        .await
        .unwrap();
    settle_through(&world).await;
    world
}

async fn log_in(world: &World, deal: u64) -> Browser {
    let login = world.portal.field_text(deal, FIELD_LOGIN).unwrap();
    let password = world.portal.field_text(deal, FIELD_PASSWORD).unwrap();
    let browser = world.browser().unwrap();
    browser.log_in(&login, &password).await.unwrap();
    browser
}

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
async fn forged_and_malformed_events_are_refused() {
    let world = provisioned(WorldOptions::new(Seed::Demo)).await;
    let token = application_token(&world);
    let foreign = world
        .portal
        .add_outgoing_webhook("http://127.0.0.1:9/elsewhere", &["ONCRMDEALUPDATE"])
        .unwrap()
        .application_token;
    let http = faults::http_client();
    let deal_body = |token: &str| deal_event_body("ONCRMDEALUPDATE", IVANOV, token, 1);
    let deep_key = format!("data{}=1", "[a]".repeat(10_000));
    let many_pairs = (0..300)
        .map(|n| format!("k{n}=v"))
        .collect::<Vec<_>>()
        .join("&");
    let huge = format!("{}&pad={}", deal_body(&token), "x".repeat(70 * 1024));

    // (what is wrong, content type, body, expected status)
    let cases: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        (
            "random token",
            FORM,
            deal_body("0123456789abcdef0123456789abcdef").into(),
            401,
        ),
        (
            "token of another webhook",
            FORM,
            deal_body(&foreign).into(),
            401,
        ),
        (
            "token prefix",
            FORM,
            deal_body(&token[..token.len() / 2]).into(),
            401,
        ),
        (
            "token with an extra character",
            FORM,
            deal_body(&format!("{token}x")).into(),
            401,
        ),
        (
            "token in upper case",
            FORM,
            deal_body(&token.to_uppercase()).into(),
            401,
        ),
        ("empty token", FORM, deal_body("").into(), 401),
        (
            "token as a list",
            FORM,
            format!("event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&auth[application_token][]={token}")
                .into(),
            401,
        ),
        (
            "no auth block",
            FORM,
            b"event=ONCRMDEALUPDATE&data[FIELDS][ID]=1".to_vec(),
            401,
        ),
        (
            "deep brackets",
            FORM,
            format!("{deep_key}&auth[application_token]={token}").into(),
            400,
        ),
        ("300 pairs", FORM, many_pairs.into(), 400),
        (
            "invalid UTF-8",
            FORM,
            vec![0xff, 0xfe, 0x3d, 0x80, 0x26, 0xc3],
            400,
        ),
        (
            "broken JSON",
            "application/json",
            b"{\"event\": \"ONCRMDEALUPDATE\", ".to_vec(),
            400,
        ),
        ("JSON list", "application/json", b"[1,2,3]".to_vec(), 400),
        (
            "multipart",
            "multipart/form-data; boundary=x",
            b"--x--".to_vec(),
            400,
        ),
        ("body over 64 KiB", FORM, huge.into(), 413),
        (
            "event name with markup",
            FORM,
            format!("event=<script>&data[FIELDS][ID]=1&auth[application_token]={token}").into(),
            400,
        ),
    ];
    let mut wrong = Vec::new();
    for (what, content_type, body, expected) in &cases {
        let status = post_event(&http, &world.base_url, content_type, body.clone())
            .await
            .unwrap();
        if status != *expected {
            wrong.push(format!("{what}: {status}, expected {expected}"));
        }
    }
    let stats = world.cabinet.store.queue_stats().await.unwrap();

    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(stats.inbox_pending, 0, "a refused event was stored");
    let health = world.browser().unwrap().get("/healthz").await.unwrap();
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn odd_deal_ids_never_block_the_inbox() {
    let world = provisioned(WorldOptions::new(Seed::Demo)).await;
    let token = application_token(&world);
    let http = faults::http_client();
    let ids = [
        "0",
        "-1",
        "18446744073709551615",
        "18446744073709551616",
        "1e3",
        "abc",
        "",
        " 7 ",
        "999999999",
        "1;DROP TABLE inbox",
    ];

    let mut server_errors = Vec::new();
    let mut accepted = 0;
    for id in ids {
        let body =
            format!("event=ONCRMDEALUPDATE&data[FIELDS][ID]={id}&auth[application_token]={token}");
        let status = post_event(&http, &world.base_url, FORM, body)
            .await
            .unwrap();
        if status >= 500 {
            server_errors.push(format!("id {id:?}: {status}"));
        }
        if status == 200 {
            accepted += 1;
        }
    }
    let blocked = settle_through(&world).await;
    for event in world.cabinet.store.inbox_pending(100).await.unwrap() {
        println!(
            "stuck: {:?} {:?} {:?}",
            event.notice, event.attempts, event.last_error
        );
    }

    // A genuine change after the odd ones must still be processed.
    let deal = world
        .portal
        .create_deal(
            NewDeal::new("После странных событий")
                .pipeline(EXECUTION_PIPELINE_ID)
                .stage(STAGE_COLLECTING_DOCUMENTS)
                .field(
                    FIELD_CREATE_ACCOUNT,
                    UfValue::EnumLabel(CREATE_ACCOUNT_VALUE.into()),
                ),
        )
        .unwrap();
    let after = settle_through(&world).await;

    println!("figures: {} odd ids, {accepted} accepted", ids.len());
    assert!(server_errors.is_empty(), "{server_errors:?}");
    assert_eq!(
        blocked.inbox_pending, 0,
        "an event with an odd deal id is stuck in the inbox"
    );
    assert_eq!(after.inbox_pending, 0);
    assert!(
        world.portal.field_text(deal, FIELD_LOGIN).is_some(),
        "the genuine event after the odd ones was not processed"
    );
}

#[tokio::test]
async fn replayed_event_storm_is_coalesced() {
    let world = provisioned(WorldOptions::new(Seed::Demo)).await;
    let token = application_token(&world);
    let http = faults::http_client();
    let body = deal_event_body("ONCRMDEALUPDATE", IVANOV, &token, 1_700_000_000);
    let reads_before = world
        .portal
        .counters()
        .by_method
        .get("crm.deal.list")
        .copied()
        .unwrap_or(0);

    let mut rejected = 0;
    for _ in 0..500 {
        let status = post_event(&http, &world.base_url, FORM, body.clone())
            .await
            .unwrap();
        if status != 200 {
            rejected += 1;
        }
    }
    let stored = world.cabinet.store.queue_stats().await.unwrap();
    let report = world.cabinet.engine.drain_inbox().await.unwrap();
    let reads_after = world
        .portal
        .counters()
        .by_method
        .get("crm.deal.list")
        .copied()
        .unwrap_or(0);

    assert_eq!(rejected, 0);
    assert_eq!(stored.inbox_pending, 500);
    assert_eq!(report.events, 500);
    assert_eq!(report.deals_read, 1, "500 copies must cost one deal read");
    assert_eq!(reads_after - reads_before, 1);
    assert_eq!(report.accounts_created, 0);
}

/// Returns the real tags of a page that could run code: every raw `<` starts
/// a tag, because escaped text never contains a raw `<`. No page of the
/// cabinet has scripts, images, event handler attributes or `javascript:`,
/// `data:` or `vbscript:` links; its only frame is a configured video.
fn hostile_tags(page: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (start, _) in page.match_indices('<') {
        let rest = &page[start + 1..];
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        let (name, attributes) = parse_tag(tag);
        let dangerous_element = matches!(
            name.as_str(),
            "script" | "img" | "iframe" | "object" | "embed" | "base"
        );
        let dangerous_attribute = attributes.iter().any(|(attribute, value)| {
            let link = matches!(attribute.as_str(), "href" | "src" | "action" | "formaction");
            let value = value.trim_start().to_lowercase();
            attribute.starts_with("on")
                || (link
                    && ["javascript:", "data:", "vbscript:"]
                        .iter()
                        .any(|scheme| value.starts_with(scheme)))
        });
        if dangerous_element || dangerous_attribute {
            problems.push(format!("<{tag}>"));
        }
    }
    problems
}

/// Splits the inside of a tag into its lower-case name and its attributes
/// with their values (quoted values taken whole, as a browser does).
fn parse_tag(tag: &str) -> (String, Vec<(String, String)>) {
    let mut chars = tag.chars().peekable();
    let mut name = String::new();
    while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '/') {
        name.push(c.to_ascii_lowercase());
    }
    let mut attributes = Vec::new();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == '/').is_some() {}
        let mut attribute = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=' && *c != '/') {
            attribute.push(c.to_ascii_lowercase());
        }
        if attribute.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            match chars.next_if(|c| *c == '"' || *c == '\'') {
                Some(quote) => {
                    for c in chars.by_ref() {
                        if c == quote {
                            break;
                        }
                        value.push(c);
                    }
                }
                None => {
                    while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                        value.push(c);
                    }
                }
            }
        }
        attributes.push((attribute, value));
    }
    (name, attributes)
}

#[tokio::test]
async fn hostile_crm_and_config_values_render_harmless() {
    let options = WorldOptions::new(Seed::Demo).configure(|config| {
        config.branding.company_name = "<script>alert('company')</script>".to_owned();
        config.branding.phone = "+7 900 <img src=x onerror=alert(1)>".to_owned();
        config.branding.email = "a@b.ru\"><script>alert(1)</script>".to_owned();
        config.branding.contact_text = "<iframe src=javascript:alert(1)>".to_owned();
        config.branding.debtor_text = "<svg onload=alert(1)>".to_owned();
        config.documents[0].name = "<img src=x onerror=alert('doc')>".to_owned();
        config.statuses.default_description = "<script>alert('stage')</script>".to_owned();
    });
    let world = provisioned(options).await;
    let hostile_stage = world
        .portal
        .add_stage(
            EXECUTION_PIPELINE_ID,
            StageSpec::process("UC_HOSTILE", "</title><script>alert('stage')</script>"),
        )
        .unwrap();
    world
        .portal
        .set_fields(
            IVANOV,
            vec![
                (
                    FIELD_MESSAGE.to_owned(),
                    UfValue::text("<script>alert(1)</script>"),
                ),
                (
                    FIELD_STATUS.to_owned(),
                    UfValue::text("\"><svg onload=alert(1)>"),
                ),
                (
                    FIELD_COURT_LINK.to_owned(),
                    UfValue::text("javascript:alert(document.cookie)"),
                ),
            ],
        )
        .unwrap();
    world
        .portal
        .set_title(IVANOV, "<b onmouseover=alert(1)>Иванов</b>")
        .unwrap();
    // Staff may type anything into an invoice's title and number; the
    // emulator's API sets neither, so they are written over REST.
    let rest = bitrix24_client::Client::new(&world.emulator.webhook_url()).unwrap();
    let hostile_invoices = [
        ("<img src=x onerror=alert('title')>", ""),
        ("Оплата", "<script>alert('number')</script>"),
    ];
    for (title, number) in hostile_invoices {
        let id = world
            .portal
            .add_smart_invoice(NewSmartInvoice::new("счёт", 100).deal(IVANOV).paid())
            .unwrap();
        let fields = serde_json::json!({
            "entityTypeId": 31,
            "id": id,
            "fields": {"title": title, "accountNumber": number},
        });
        rest.call::<serde_json::Value>("crm.item.update", &fields)
            .await
            .unwrap();
    }
    world.portal.move_stage(IVANOV, &hostile_stage).unwrap();
    world
        .cabinet
        .engine
        .resync(ResyncMode::Full, &|_| {})
        .await
        .unwrap();
    settle_through(&world).await;
    let browser = log_in(&world, IVANOV).await;

    let mut pages = Vec::new();
    for path in ["/", "/payments", "/documents", "/statuses", "/password"] {
        pages.push((path.to_owned(), browser.get(path).await.unwrap()));
    }
    let login_page = world.browser().unwrap().get("/login").await.unwrap();
    pages.push(("/login".to_owned(), login_page));
    let links = [
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "https://kad.arbitr.ru/\" onclick=\"alert(1)",
        "//evil.example/x",
    ];
    for link in links {
        world
            .portal
            .set_field(IVANOV, FIELD_COURT_LINK, UfValue::text(link))
            .unwrap();
        settle_through(&world).await;
        pages.push((
            format!("/ with court link {link:?}"),
            browser.get("/").await.unwrap(),
        ));
    }
    world.portal.move_stage(IVANOV, STAGE_DEBTOR).unwrap();
    settle_through(&world).await;
    pages.push(("/debtor".to_owned(), browser.get("/debtor").await.unwrap()));

    let home = &pages[0].1.html;
    assert!(
        home.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "the message must reach the page, escaped"
    );
    assert!(home.contains("id=\"client-status\""));
    assert!(
        home.contains("&#60;/title&#62;&#60;script&#62;alert(&#39;stage&#39;)"),
        "the hostile stage name must reach the page, escaped"
    );
    let payments = &pages[1].1.html;
    assert!(payments.contains("&#60;img src=x onerror=alert(&#39;title&#39;)&#62;"));
    assert!(payments.contains("&#60;script&#62;alert(&#39;number&#39;)&#60;/script&#62;"));
    assert!(
        !home.contains("id=\"court-link\""),
        "a javascript: link got a button"
    );
    for (path, page) in &pages {
        assert_eq!(page.status, 200, "{path}");
        let found = hostile_tags(&page.html);
        assert!(found.is_empty(), "{path} carries {found:?}");
    }
    let debtor = &pages.last().unwrap().1.html;
    assert!(debtor.contains("id=\"debtor-notice\""));
    assert!(debtor.contains("&#60;svg onload=alert(1)&#62;"));
}

#[test]
fn hostile_tag_check_finds_live_markup() {
    let escaped = "<p title=\"x onerror=1\">&#60;script&#62;alert(1)&#60;/script&#62;</p>";
    let live = [
        "<script>alert(1)</script>",
        "<IMG SRC=x>",
        "<p onclick=alert(1)>",
        "<a href=\" JavaScript:alert(1)\">",
        "<a href='data:text/html,x'>",
        "<form action=vbscript:x>",
    ];

    assert_eq!(hostile_tags(escaped), Vec::<String>::new());
    for page in live {
        assert_eq!(hostile_tags(page).len(), 1, "{page}");
    }
}

/// A minimal PDF the upload check accepts.
const PDF: &[u8] = b"%PDF-1.4\n%reliability\n";

#[tokio::test]
async fn hostile_upload_names_are_made_safe() {
    let world = provisioned(WorldOptions::new(Seed::Demo)).await;
    let browser = log_in(&world, IVANOV).await;
    let (field, _) = DOCUMENT_FIELDS[1];
    let before = world.portal.files(IVANOV, field).len();
    let long = "я".repeat(1_000);
    let names = [
        "../../etc/passwd",
        "..\\..\\windows\\win.ini",
        "%2e%2e%2fescape.pdf",
        "a/b/c/deep.pdf",
        "<script>alert(1)</script>.pdf",
        "nul\u{0}byte.pdf",
        "new\r\nline.pdf",
        "\u{202e}fdp.exe",
        "CON",
        ".htaccess",
        "shell.php",
        "scan.pdf.exe",
        "  spaces  .pdf  ",
        "",
        "...",
        "кириллица и пробелы.pdf",
        "emoji 📄.pdf",
        "quote\"and'apostrophe.pdf",
        "pipe|star*question?.pdf",
        long.as_str(),
    ];

    let csrf = csrf_of(&browser.get("/documents").await.unwrap().html).unwrap();
    let mut accepted = 0;
    let mut wrong = Vec::new();
    for name in names {
        let page = browser
            .upload(&format!("/documents/{field}"), &csrf, name, PDF.to_vec())
            .await
            .unwrap();
        // A control character in the part's header makes the multipart body
        // itself malformed (browsers percent-encode them), so 400 is the clear
        // response there. Every other name must be accepted.
        let malformed = name.chars().any(char::is_control);
        match (page.status, malformed) {
            (303, _) => accepted += 1,
            (400, true) => {}
            (status, _) => wrong.push(format!("{name:?}: {status}")),
        }
    }
    let stats = settle_through(&world).await;

    let files = world.portal.files(IVANOV, field);
    println!(
        "figures: {} hostile names, {accepted} accepted",
        names.len()
    );
    assert!(wrong.is_empty(), "{wrong:?}");
    assert!(accepted >= names.len() - 2);
    assert_eq!(stats.spooled_files, 0);
    assert_eq!(files.len(), before + accepted);
    for file in &files[before..] {
        let name = &file.name;
        assert!(name.ends_with(".pdf"), "{name:?}");
        assert!(name.chars().count() <= 104, "{name:?} is too long");
        assert!(
            !name.chars().any(|c| c.is_control()
                || matches!(
                    c,
                    '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*' | '%'
                )),
            "{name:?} keeps a dangerous character"
        );
        assert!(!name.starts_with('.'), "{name:?} is hidden");
        assert_eq!(file.bytes.as_ref(), PDF);
    }
}

#[tokio::test]
async fn wrong_type_and_oversized_uploads_are_refused() {
    let options = WorldOptions::new(Seed::Demo).configure(|config| {
        config.web.max_upload_megabytes = 1;
    });
    let world = provisioned(options).await;
    let browser = log_in(&world, IVANOV).await;
    let (field, _) = DOCUMENT_FIELDS[2];
    let before = world.portal.files(IVANOV, field).len();
    let csrf = csrf_of(&browser.get("/documents").await.unwrap().html).unwrap();
    let path = format!("/documents/{field}");

    let wrong_types: [(&str, &[u8]); 6] = [
        ("program.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"),
        ("page.pdf", b"<html><script>alert(1)</script></html>"),
        (
            "image.svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
        ),
        ("script.pdf", b"#!/bin/sh\nrm -rf /\n"),
        ("archive.pdf", b"PK\x03\x04\x14\x00\x00\x00\x08\x00"),
        ("empty.pdf", b""),
    ];
    let mut rejections = Vec::new();
    for (name, bytes) in wrong_types {
        let page = browser
            .upload(&path, &csrf, name, bytes.to_vec())
            .await
            .unwrap();
        rejections.push((name, page.status, page.location));
    }
    let mut oversized = PDF.to_vec();
    oversized.resize(1024 * 1024 + 1, b' ');
    let too_large = browser
        .upload(&path, &csrf, "big.pdf", oversized)
        .await
        .unwrap();
    let far_too_large = browser
        .upload(&path, &csrf, "huge.pdf", vec![b'%'; 8 * 1024 * 1024])
        .await;
    let not_a_document = browser
        .upload(
            &format!("/documents/{FIELD_PASSWORD}"),
            &csrf,
            "x.pdf",
            PDF.to_vec(),
        )
        .await
        .unwrap();
    let password_before = world.portal.field_text(IVANOV, FIELD_PASSWORD);
    let stats = settle_through(&world).await;
    let still_serving = browser.get("/documents").await.unwrap();

    for (name, status, location) in &rejections {
        assert_eq!(*status, 303, "{name}");
        let location = location.as_deref().unwrap_or_default();
        assert!(location.contains("problem="), "{name}: {location}");
    }
    assert_eq!(too_large.status, 413);
    // Far over the limit the server may also reset the connection while the
    // body is still arriving; it must not accept the file.
    if let Ok(page) = far_too_large {
        assert_eq!(page.status, 413);
    }
    assert_eq!(not_a_document.status, 404);
    assert_eq!(
        world.portal.field_text(IVANOV, FIELD_PASSWORD),
        password_before
    );
    assert_eq!(stats.spooled_files, 0);
    assert_eq!(world.portal.files(IVANOV, field).len(), before);
    assert_eq!(still_serving.status, 200);
}
