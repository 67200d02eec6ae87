//! Router tests: every route driven with `oneshot`, over the in-memory store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use bitrix_lk_core::fakes::{FakeCrm, MemoryStore};
use bitrix_lk_core::{
    CategoryId, Deal, DealId, FieldCode, FieldValue, LkConfig, Pipeline, Stage, StageId,
    StageSemantics, Store, WriteBack,
};
use http_body_util::BodyExt;
use lk_web::server::assemble_with;
use secrecy::SecretString;
use tower::ServiceExt;

const TOKEN: &str = "app-token-1";
const MESSAGE: &str = "UF_CRM_1708511318200";
const COURT: &str = "UF_CRM_1708511472339";
const PASSPORT: &str = "UF_CRM_1708509490009";

struct Site {
    app: Router,
    store: Arc<MemoryStore>,
}

fn config() -> LkConfig {
    let mut config = LkConfig::default();
    config.bitrix24.application_tokens = vec![SecretString::from(TOKEN)];
    config.pipeline.category_id = Some(CategoryId(7));
    config.accounts.hash_memory_kib = 1024;
    config.accounts.hash_iterations = 1;
    config.web.max_upload_megabytes = 1;
    config
}

fn pipeline() -> Pipeline {
    let stage = |id: &str, name: &str, sort, semantics| Stage {
        id: StageId::from(id),
        name: name.to_owned(),
        sort,
        semantics,
    };
    Pipeline {
        id: CategoryId(7),
        name: "Исполнение Юр. отдел".to_owned(),
        stages: vec![
            stage("C7:NEW", "Сбор документов", 10, StageSemantics::Process),
            stage("C7:COURT", "Подача в суд", 20, StageSemantics::Process),
            stage("C7:DEBT", "Должник", 30, StageSemantics::Process),
            stage(
                "C7:WON",
                "Завершение процедуры",
                40,
                StageSemantics::Success,
            ),
            stage("C7:LOSE", "Отказ клиента", 50, StageSemantics::Failure),
        ],
    }
}

fn deal(id: u64, stage: &str, fields: &[(&str, &str)]) -> Deal {
    let mut values = BTreeMap::new();
    values.insert(
        FieldCode::from("UF_CRM_1708511654449"),
        FieldValue::Enum {
            id: "45".into(),
            label: Some("Создать".into()),
        },
    );
    for (code, text) in fields {
        values.insert(FieldCode::from(*code), FieldValue::Text((*text).to_owned()));
    }
    Deal {
        id: DealId(id),
        title: format!("Дело клиента {id}"),
        category_id: CategoryId(7),
        stage_id: StageId::from(stage),
        contact_id: None,
        modified_at: None,
        fields: values,
    }
}

/// Builds the site with one provisioned client; returns it and that client's password.
async fn site_with_client(deal: Deal) -> (Site, String) {
    let config = Arc::new(config());
    let store = Arc::new(MemoryStore::new());
    let crm = Arc::new(FakeCrm::new());
    let cabinet = assemble_with(config, store.clone(), crm);
    store.save_pipelines(&[pipeline()]).await.unwrap();

    let password = provision(&cabinet.state, &store, &deal).await;
    (
        Site {
            app: lk_web::app(cabinet.state),
            store,
        },
        password,
    )
}

async fn provision(state: &lk_web::AppState, store: &MemoryStore, deal: &Deal) -> String {
    store.save_deal(deal).await.unwrap();
    state.provisioner().provision(deal).await.unwrap();
    store
        .outbox_items()
        .into_iter()
        .find_map(|item| match item.write {
            WriteBack::Credentials {
                deal_id, password, ..
            } if deal_id == deal.id => Some(password.expose().to_owned()),
            _ => None,
        })
        .unwrap()
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut builder = Request::get(path);
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    builder.body(Body::empty()).unwrap()
}

fn post_form(path: &str, cookie: Option<&str>, form: &str) -> Request<Body> {
    let mut builder =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    builder.body(Body::from(form.to_owned())).unwrap()
}

fn cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| {
            value
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn hidden_csrf(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("no csrf field") + 19;
    html[start..].split('"').next().unwrap().to_owned()
}

/// Logs in and returns the session cookie and a CSRF token of the session.
async fn log_in(site: &Site, login: &str, password: &str) -> (String, String) {
    let (_, headers, html) = send(&site.app, get("/login", None)).await;
    let login_cookie = cookies(&headers).join("; ");
    let csrf = hidden_csrf(&html);
    let form = format!("csrf={csrf}&login={login}&password={password}");
    let (status, headers, _) =
        send(&site.app, post_form("/login", Some(&login_cookie), &form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "login failed");
    let session = cookies(&headers)
        .into_iter()
        .find(|c| c.starts_with("lk_session="))
        .unwrap();

    let (_, _, page) = send(&site.app, get("/password", Some(&session))).await;
    (session, hidden_csrf(&page))
}

async fn login_of(site: &Site, deal: u64) -> String {
    site.store
        .account_by_deal(DealId(deal))
        .await
        .unwrap()
        .unwrap()
        .login
        .to_string()
}

#[tokio::test]
async fn healthz_reports_queues() {
    let (site, _) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let (status, _, body) = send(&site.app, get("/healthz", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\"outbox_pending\":1"), "{body}");
}

#[tokio::test]
async fn pages_without_session_redirect_to_login() {
    let (site, _) = site_with_client(deal(1, "C7:NEW", &[])).await;
    for path in [
        "/",
        "/payments",
        "/documents",
        "/statuses",
        "/debtor",
        "/password",
    ] {
        let (status, headers, _) = send(&site.app, get(path, None)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(headers[header::LOCATION], "/login", "{path}");
    }
}

#[tokio::test]
async fn forged_session_cookie_redirects_to_login() {
    let (site, _) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let (status, _, _) = send(&site.app, get("/", Some("lk_session=deadbeef"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn login_page_has_form_and_security_headers() {
    let (site, _) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let (status, headers, html) = send(&site.app, get("/login", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Вход в личный кабинет"));
    assert!(
        headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn login_without_csrf_cookie_is_forbidden() {
    let (site, password) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let login = login_of(&site, 1).await;
    let form = format!("csrf=abc&login={login}&password={password}");
    let (status, _, _) = send(&site.app, post_form("/login", None, &form)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn forms_without_csrf_field_get_the_forbidden_page() {
    let (site, password) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let login = login_of(&site, 1).await;
    let (_, headers, _) = send(&site.app, get("/login", None)).await;
    let login_cookie = cookies(&headers).join("; ");
    let (session, _) = log_in(&site, &login, &password).await;

    let attempts = [
        (
            "/login",
            login_cookie.as_str(),
            format!("login={login}&password={password}"),
        ),
        ("/logout", session.as_str(), String::new()),
        (
            "/password",
            session.as_str(),
            "current=a&new=b&repeat=b".to_owned(),
        ),
    ];
    for (path, cookie, form) in attempts {
        let (status, headers, html) = send(&site.app, post_form(path, Some(cookie), &form)).await;

        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {html}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
    }
    let (status, _, _) = send(&site.app, get("/", Some(&session))).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the session must survive a logout without csrf"
    );
}

#[tokio::test]
async fn wrong_password_gets_one_neutral_message() {
    let (site, _) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let login = login_of(&site, 1).await;
    let (_, headers, html) = send(&site.app, get("/login", None)).await;
    let cookie = cookies(&headers).join("; ");
    let csrf = hidden_csrf(&html);

    let wrong_password = format!("csrf={csrf}&login={login}&password=nope");
    let unknown_login = format!("csrf={csrf}&login=nobody&password=nope");
    let (status_a, _, page_a) = send(
        &site.app,
        post_form("/login", Some(&cookie), &wrong_password),
    )
    .await;
    let (status_b, _, page_b) = send(
        &site.app,
        post_form("/login", Some(&cookie), &unknown_login),
    )
    .await;

    assert_eq!(status_a, StatusCode::OK);
    assert_eq!(status_b, StatusCode::OK);
    assert!(page_a.contains("Неверный логин или пароль."));
    assert!(page_b.contains("Неверный логин или пароль."));
}

#[tokio::test]
async fn login_queues_last_login_write() {
    let (site, password) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let login = login_of(&site, 1).await;
    log_in(&site, &login, &password).await;

    let writes = site.store.outbox_items();
    assert!(writes.iter().any(|item| matches!(
        item.write,
        WriteBack::LastLogin {
            deal_id: DealId(1),
            ..
        }
    )));
    let account = site
        .store
        .account_by_deal(DealId(1))
        .await
        .unwrap()
        .unwrap();
    assert!(account.last_login_at.is_some());
}

#[tokio::test]
async fn case_page_shows_data_hooks() {
    let fields = [
        (MESSAGE, "Заседание 10 декабря"),
        (COURT, "https://kad.arbitr.ru/Card/123"),
    ];
    let (site, password) = site_with_client(deal(1, "C7:COURT", &fields)).await;
    let login = login_of(&site, 1).await;
    let (session, _) = log_in(&site, &login, &password).await;

    let (status, _, html) = send(&site.app, get("/", Some(&session))).await;

    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"company-message\""));
    assert!(html.contains("Заседание 10 декабря"));
    assert!(html.contains("id=\"court-link\" href=\"https://kad.arbitr.ru/Card/123\""));
    assert!(html.contains("id=\"referral-code\""));
    assert!(html.contains("data-progress=\"33\""), "progress");
    assert_eq!(html.matches("data-stage-state=\"done\"").count(), 1);
    assert_eq!(html.matches("data-stage-state=\"current\"").count(), 1);
    assert_eq!(html.matches("data-stage-state=\"pending\"").count(), 1);
    assert!(html.contains("data-amount=\"paid\""));
    assert!(html.contains("Подача в суд"));
}

#[tokio::test]
async fn hostile_crm_values_render_harmless() {
    let fields = [
        (
            MESSAGE,
            "<script>alert(1)</script><img src=x onerror=alert(2)>",
        ),
        (COURT, "javascript:alert(1)"),
    ];
    let (site, password) = site_with_client(deal(1, "C7:COURT", &fields)).await;
    let login = login_of(&site, 1).await;
    let (session, _) = log_in(&site, &login, &password).await;

    let (_, _, html) = send(&site.app, get("/", Some(&session))).await;

    assert!(!html.contains("<script>alert(1)"));
    assert!(!html.contains("<img src=x"));
    assert!(
        html.contains("&#60;script&#62;alert(1)"),
        "the message text is not shown escaped"
    );
    assert!(!html.contains("id=\"court-link\""));
    assert!(!html.contains("javascript:"));
}

#[tokio::test]
async fn debtor_stage_blocks_every_page() {
    let (site, password) = site_with_client(deal(1, "C7:DEBT", &[])).await;
    let login = login_of(&site, 1).await;
    let (session, _) = log_in(&site, &login, &password).await;

    for path in ["/", "/payments", "/documents", "/statuses", "/debtor"] {
        let (status, _, html) = send(&site.app, get(path, Some(&session))).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            html.contains("id=\"debtor-notice\""),
            "{path} is not the debtor page"
        );
    }
}

#[tokio::test]
async fn leaving_debtor_stage_unblocks() {
    let (site, password) = site_with_client(deal(1, "C7:DEBT", &[])).await;
    let login = login_of(&site, 1).await;
    let (session, _) = log_in(&site, &login, &password).await;
    site.store.save_deal(&deal(1, "C7:WON", &[])).await.unwrap();

    let (_, _, html) = send(&site.app, get("/", Some(&session))).await;
    let (status, headers, _) = send(&site.app, get("/debtor", Some(&session))).await;

    assert!(!html.contains("id=\"debtor-notice\""));
    assert!(html.contains("data-progress=\"100\""));
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/");
}

#[tokio::test]
async fn client_sees_only_own_deal() {
    let (site, password) =
        site_with_client(deal(1, "C7:NEW", &[(MESSAGE, "Сообщение первому")])).await;
    let state_store = site.store.clone();
    state_store
        .save_deal(&deal(2, "C7:NEW", &[(MESSAGE, "Сообщение второму")]))
        .await
        .unwrap();
    let login = login_of(&site, 1).await;
    let (session, _) = log_in(&site, &login, &password).await;

    let (_, _, html) = send(&site.app, get("/", Some(&session))).await;

    assert!(html.contains("Сообщение первому"));
    assert!(!html.contains("Сообщение второму"));
}

#[tokio::test]
async fn statuses_and_payments_pages_render() {
    let (site, password) = site_with_client(deal(1, "C7:COURT", &[])).await;
    let login = login_of(&site, 1).await;
    let (session, _) = log_in(&site, &login, &password).await;

    let (statuses, _, statuses_html) = send(&site.app, get("/statuses", Some(&session))).await;
    let (payments, _, payments_html) = send(&site.app, get("/payments", Some(&session))).await;

    assert_eq!(statuses, StatusCode::OK);
    assert!(statuses_html.contains("Подробное описание статусов"));
    assert_eq!(statuses_html.matches("data-stage-state=").count(), 3);
    assert_eq!(payments, StatusCode::OK);
    assert!(payments_html.contains("Оплаченных счетов пока нет."));
}

fn multipart(csrf: Option<&str>, file_name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "XBOUNDARYX";
    let mut body = Vec::new();
    if let Some(csrf) = csrf {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn upload(
    path: &str,
    session: &str,
    csrf: Option<&str>,
    file_name: &str,
    bytes: &[u8],
) -> Request<Body> {
    let (content_type, body) = multipart(csrf, file_name, bytes);
    Request::post(path)
        .header(header::COOKIE, session)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn upload_goes_to_spool_and_outbox() {
    let (site, password) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let login = login_of(&site, 1).await;
    let (session, csrf) = log_in(&site, &login, &password).await;

    let path = format!("/documents/{PASSPORT}");
    let request = upload(
        &path,
        &session,
        Some(&csrf),
        "../../паспорт.pdf",
        b"%PDF-1.7\n%test",
    );
    let (status, headers, _) = send(&site.app, request).await;

    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        format!("/documents?uploaded={PASSPORT}")
    );
    let document = site
        .store
        .outbox_items()
        .into_iter()
        .find_map(|item| match item.write {
            WriteBack::Document {
                deal_id,
                field,
                spool_id,
            } => Some((deal_id, field, spool_id)),
            _ => None,
        });
    let (deal_id, field, spool_id) = document.expect("no document write queued");
    assert_eq!(deal_id, DealId(1));
    assert_eq!(field.as_str(), PASSPORT);
    let file = site.store.spooled_file(spool_id).await.unwrap().unwrap();
    assert_eq!(file.file_name, "паспорт.pdf");
    assert_eq!(file.content_type, "application/pdf");

    let (_, _, page) = send(
        &site.app,
        get(&format!("/documents?uploaded={PASSPORT}"), Some(&session)),
    )
    .await;
    assert!(page.contains("получен и передаётся вашему юристу"));
    assert_eq!(page.matches("data-upload=\"sending\"").count(), 1);
}

#[tokio::test]
async fn upload_without_csrf_is_forbidden() {
    let (site, password) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let login = login_of(&site, 1).await;
    let (session, _) = log_in(&site, &login, &password).await;

    let request = upload(
        &format!("/documents/{PASSPORT}"),
        &session,
        None,
        "a.pdf",
        b"%PDF-1.7",
    );
    let (status, _, _) = send(&site.app, request).await;

    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn upload_to_unknown_field_is_not_found() {
    let (site, password) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let login = login_of(&site, 1).await;
    let (session, csrf) = log_in(&site, &login, &password).await;

    for field in ["UF_CRM_1708511589360", "UF_CRM_999", "..%2F..%2Fetc"] {
        let request = upload(
            &format!("/documents/{field}"),
            &session,
            Some(&csrf),
            "a.pdf",
            b"%PDF-1.7",
        );
        let (status, _, _) = send(&site.app, request).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{field}");
    }
}

#[tokio::test]
async fn upload_of_wrong_type_is_refused() {
    let (site, password) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let login = login_of(&site, 1).await;
    let (session, csrf) = log_in(&site, &login, &password).await;

    let request = upload(
        &format!("/documents/{PASSPORT}"),
        &session,
        Some(&csrf),
        "x.pdf",
        b"MZ\x90\x00 not a pdf",
    );
    let (status, headers, _) = send(&site.app, request).await;

    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/documents?problem=type");
    assert!(
        site.store
            .outbox_items()
            .iter()
            .all(|item| !matches!(item.write, WriteBack::Document { .. }))
    );
}

#[tokio::test]
async fn oversize_upload_is_refused() {
    let (site, password) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let login = login_of(&site, 1).await;
    let (session, csrf) = log_in(&site, &login, &password).await;
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize(2 * 1024 * 1024, b'x');

    let request = upload(
        &format!("/documents/{PASSPORT}"),
        &session,
        Some(&csrf),
        "big.pdf",
        &big,
    );
    let (status, _, _) = send(&site.app, request).await;

    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn logout_needs_csrf_and_ends_session() {
    let (site, password) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let login = login_of(&site, 1).await;
    let (session, csrf) = log_in(&site, &login, &password).await;

    let (forged, _, _) = send(
        &site.app,
        post_form("/logout", Some(&session), "csrf=wrong"),
    )
    .await;
    let (status, _, _) = send(
        &site.app,
        post_form("/logout", Some(&session), &format!("csrf={csrf}")),
    )
    .await;
    let (after, headers, _) = send(&site.app, get("/", Some(&session))).await;

    assert_eq!(forged, StatusCode::FORBIDDEN);
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(after, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/login");
}

#[tokio::test]
async fn password_change_keeps_client_logged_in() {
    let (site, password) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let login = login_of(&site, 1).await;
    let (session, csrf) = log_in(&site, &login, &password).await;

    let form = format!("csrf={csrf}&current={password}&new=Nov0eParol&repeat=Nov0eParol");
    let (status, headers, html) =
        send(&site.app, post_form("/password", Some(&session), &form)).await;
    let fresh = cookies(&headers)
        .into_iter()
        .find(|c| c.starts_with("lk_session="))
        .unwrap();
    let (old_status, _, _) = send(&site.app, get("/", Some(&session))).await;
    let (new_status, _, _) = send(&site.app, get("/", Some(&fresh))).await;

    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Пароль изменён."));
    assert_eq!(old_status, StatusCode::SEE_OTHER);
    assert_eq!(new_status, StatusCode::OK);
    log_in(&site, &login, "Nov0eParol").await;
}

#[tokio::test]
async fn password_change_with_wrong_current_is_refused() {
    let (site, password) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let login = login_of(&site, 1).await;
    let (session, csrf) = log_in(&site, &login, &password).await;

    let form = format!("csrf={csrf}&current=wrong&new=Nov0eParol&repeat=Nov0eParol");
    let (_, _, html) = send(&site.app, post_form("/password", Some(&session), &form)).await;

    assert!(html.contains("Текущий пароль указан неверно."));
    log_in(&site, &login, &password).await;
}

fn event_body(event: &str, id: u64, token: &str) -> String {
    format!(
        "event={event}&event_handler_id=3&data%5BFIELDS%5D%5BID%5D={id}&ts=1733300000&auth%5Bdomain%5D=example.bitrix24.ru&auth%5Bmember_id%5D=m1&auth%5Bapplication_token%5D={token}"
    )
}

#[tokio::test]
async fn event_with_valid_token_is_stored() {
    let (site, _) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let request = post_form(
        "/b24/events",
        None,
        &event_body("ONCRMDEALUPDATE", 77, TOKEN),
    );

    let (status, _, _) = send(&site.app, request).await;

    assert_eq!(status, StatusCode::OK);
    let inbox = site.store.inbox_items();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].event_name, "ONCRMDEALUPDATE");
}

#[tokio::test]
async fn event_with_forged_token_is_unauthorized() {
    let (site, _) = site_with_client(deal(1, "C7:NEW", &[])).await;
    for body in [
        event_body("ONCRMDEALUPDATE", 77, "forged"),
        event_body("ONCRMDEALUPDATE", 77, ""),
    ] {
        let (status, _, _) = send(&site.app, post_form("/b24/events", None, &body)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert!(site.store.inbox_items().is_empty());
}

#[tokio::test]
async fn malformed_event_is_bad_request() {
    let (site, _) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let bodies = [
        format!(
            "event=ONCRMDEALUPDATE&data%5BFIELDS%5D%5BID%5D=abc&auth%5Bapplication_token%5D={TOKEN}"
        ),
        "%%%".to_owned(),
        format!("data%5BFIELDS%5D%5BID%5D=5&auth%5Bapplication_token%5D={TOKEN}"),
    ];
    for body in bodies {
        let (status, _, _) = send(&site.app, post_form("/b24/events", None, &body)).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED,
            "{body}: {status}"
        );
    }
    assert!(site.store.inbox_items().is_empty());
}

#[tokio::test]
async fn unhandled_event_is_acknowledged_and_ignored() {
    let (site, _) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let (status, _, _) = send(
        &site.app,
        post_form("/b24/events", None, &event_body("ONCRMLEADADD", 5, TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(site.store.inbox_items().is_empty());
}

#[tokio::test]
async fn smart_invoice_event_is_stored() {
    let (site, _) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let body = format!(
        "event=ONCRMDYNAMICITEMUPDATE&data%5BFIELDS%5D%5BID%5D=9&data%5BFIELDS%5D%5BENTITY_TYPE_ID%5D=31&auth%5Bapplication_token%5D={TOKEN}"
    );
    let (status, _, _) = send(&site.app, post_form("/b24/events", None, &body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(site.store.inbox_items().len(), 1);
}

#[tokio::test]
async fn oversized_event_body_is_refused() {
    let (site, _) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let body = format!(
        "{}&pad={}",
        event_body("ONCRMDEALUPDATE", 1, TOKEN),
        "x".repeat(200 * 1024)
    );
    let (status, _, _) = send(&site.app, post_form("/b24/events", None, &body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(site.store.inbox_items().is_empty());
}

#[tokio::test]
async fn unknown_route_is_not_found_page() {
    let (site, _) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let (status, _, html) = send(&site.app, get("/admin", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Такой страницы нет."));
}

#[tokio::test]
async fn error_pages_carry_the_firm_branding() {
    let (site, _) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let (status, _, html) = send(&site.app, get("/admin", None)).await;
    let (bad, _, bad_html) = send(&site.app, post_form("/login", None, "%%%")).await;

    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains(&config().branding.company_name));
    assert!(bad.is_client_error());
    assert!(
        bad_html.contains("<html"),
        "axum's plain-text rejection was not replaced"
    );
}

#[tokio::test]
async fn oversize_upload_names_the_limit() {
    let (site, password) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let login = login_of(&site, 1).await;
    let (session, csrf) = log_in(&site, &login, &password).await;
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize(2 * 1024 * 1024, b'x');

    let request = upload(
        &format!("/documents/{PASSPORT}"),
        &session,
        Some(&csrf),
        "big.pdf",
        &big,
    );
    let (status, _, html) = send(&site.app, request).await;

    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(html.contains("до 1 МБ"), "{html}");
}

#[tokio::test]
async fn deleted_deal_shows_contacts_and_logout() {
    let (site, password) = site_with_client(deal(1, "C7:NEW", &[])).await;
    let login = login_of(&site, 1).await;
    let (session, _) = log_in(&site, &login, &password).await;
    site.store.delete_deal(DealId(1)).await.unwrap();

    let (status, _, html) = send(&site.app, get("/", Some(&session))).await;

    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"case-unavailable\""));
    assert!(html.contains("action=\"/logout\""));
    assert!(
        !html.contains("href=\"/documents\""),
        "the menu must be hidden"
    );
}
