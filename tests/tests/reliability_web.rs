//! Web abuse against the running cabinet: login guessing per login and per
//! address, session fixation, cookie flags, CSRF on every form, and one
//! client reaching for another's pages, files and uploads.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use bitrix_lk_core::engine::ResyncMode;
use bitrix_lk_core::{DealId, HttpUrl};
use bitrix24_client::emulator::Seed;
use bitrix24_client::emulator::UfValue;
use bitrix24_client::emulator::seed::{
    DOCUMENT_FIELDS, FIELD_LOGIN, FIELD_MESSAGE, FIELD_PASSWORD,
};
use lk_tests::faults::{self, Raw, WorldOptions, pair_of, set_cookie, settle_through};
use lk_tests::{Browser, World, csrf_of};
use reqwest::header::COOKIE;

/// Demo clients with accounts.
const IVANOV: u64 = 1;
const SIDOROVA: u64 = 2;

/// The pause the throttle puts before each attempt over the limits is 2 s;
/// the checks allow for timer slack below it.
const SLOWED: Duration = Duration::from_millis(1_900);
/// An attempt under the limits is checked at once; this bound only has to
/// separate it from a slowed one.
const PROMPT: Duration = Duration::from_millis(1_500);

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

fn credentials(world: &World, deal: u64) -> (String, String) {
    (
        world.portal.field_text(deal, FIELD_LOGIN).unwrap(),
        world.portal.field_text(deal, FIELD_PASSWORD).unwrap(),
    )
}

async fn logged_in(world: &World, deal: u64) -> Browser {
    let (login, password) = credentials(world, deal);
    let browser = world.browser().unwrap();
    browser.log_in(&login, &password).await.unwrap();
    browser
}

/// Makes one login attempt from a fresh browser; returns how long it took
/// and whether the cabinet let the client in.
async fn attempt(world: &World, login: &str, password: &str) -> (Duration, bool) {
    let browser = world.browser().unwrap();
    let form = browser.get("/login").await.unwrap();
    let csrf = csrf_of(&form.html).unwrap();
    let started = Instant::now();
    let result = browser
        .post_form(
            "/login",
            &[("csrf", &csrf), ("login", login), ("password", password)],
        )
        .await
        .unwrap();
    (started.elapsed(), result.location.as_deref() == Some("/"))
}

#[tokio::test]
async fn login_guessing_is_slowed_but_client_gets_in() {
    let options = WorldOptions::new(Seed::Demo).configure(|config| {
        config.web.login_max_failures = 3;
        config.web.address_max_failures = 6;
    });
    let world = provisioned(options).await;
    let (login_a, password_a) = credentials(&world, IVANOV);
    let (login_b, password_b) = credentials(&world, SIDOROVA);

    let mut under_limit = Vec::new();
    for _ in 0..3 {
        under_limit.push(attempt(&world, &login_a, "wrong-password").await);
    }
    let over_login_limit = attempt(&world, &login_a, "wrong-password").await;
    let right_after_guessing = attempt(&world, &login_a, &password_a).await;
    // The address has 4 failures now; two more on unknown logins fill its limit of 6.
    let fifth = attempt(&world, "nobody-1", "x").await;
    let sixth = attempt(&world, "nobody-2", "x").await;
    let over_address_limit = attempt(&world, "nobody-3", "x").await;
    let other_client = attempt(&world, &login_b, &password_b).await;

    let started = Instant::now();
    let parallel = futures_join3(
        attempt(&world, &login_a, "guess-1"),
        attempt(&world, &login_a, "guess-2"),
        attempt(&world, &login_a, "guess-3"),
    )
    .await;
    let parallel_elapsed = started.elapsed();

    println!(
        "figures: prompt attempts {:?}, slowed {:?}, 3 parallel guesses {parallel_elapsed:?}",
        under_limit.iter().map(|a| a.0).collect::<Vec<_>>(),
        over_login_limit.0
    );
    for (elapsed, admitted) in &under_limit {
        assert!(*elapsed < PROMPT, "{elapsed:?}");
        assert!(!admitted);
    }
    assert!(over_login_limit.0 >= SLOWED, "{:?}", over_login_limit.0);
    assert!(!over_login_limit.1);
    assert!(right_after_guessing.0 >= SLOWED);
    assert!(
        right_after_guessing.1,
        "the right password must still work after guessing"
    );
    assert!(fifth.0 < PROMPT, "{:?}", fifth.0);
    assert!(sixth.0 < PROMPT, "{:?}", sixth.0);
    assert!(over_address_limit.0 >= SLOWED, "{:?}", over_address_limit.0);
    assert!(other_client.0 >= SLOWED, "the address is over its limit");
    assert!(
        other_client.1,
        "another client from the address must get in"
    );
    assert!(parallel.iter().all(|(_, admitted)| !admitted));
    assert!(
        parallel_elapsed >= 3 * SLOWED,
        "parallel guesses must be taken one at a time: {parallel_elapsed:?}"
    );
}

async fn futures_join3<T>(
    a: impl Future<Output = T>,
    b: impl Future<Output = T>,
    c: impl Future<Output = T>,
) -> Vec<T> {
    let (a, b, c) = tokio::join!(a, b, c);
    vec![a, b, c]
}

#[tokio::test]
async fn planted_session_id_is_never_promoted() {
    let world = provisioned(WorldOptions::new(Seed::Demo)).await;
    let raw = Raw::new(&world);
    let (login_a, password_a) = credentials(&world, IVANOV);
    let (login_b, password_b) = credentials(&world, SIDOROVA);
    let planted = "lk_session=attacker-chosen-session-id";

    let login = raw.log_in(planted, &login_a, &password_a).await;
    let issued = pair_of(set_cookie(&login, "lk_session").unwrap());
    let with_planted = raw.get("/", planted).await;
    let with_issued = raw.get("/", &issued).await;

    // Logging in as B while carrying A's live session gets a new id too.
    let login_b_page = raw.log_in(&issued, &login_b, &password_b).await;
    let issued_b = pair_of(set_cookie(&login_b_page, "lk_session").unwrap());

    let csrf = csrf_of(&with_issued.html).unwrap();
    let logout = raw.post("/logout", &issued, &[("csrf", &csrf)]).await;
    let after_logout = raw.get("/", &issued).await;
    let b_after_a_logout = raw.get("/", &issued_b).await;

    assert_eq!(login.location.as_deref(), Some("/"));
    assert_ne!(issued, planted);
    let id = issued.trim_start_matches("lk_session=");
    assert_eq!(id.len(), 64, "a session id is 32 random bytes in hex");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(with_planted.status, 303);
    assert_eq!(with_planted.location.as_deref(), Some("/login"));
    assert_eq!(with_issued.status, 200);
    assert_ne!(issued_b, issued);
    assert_eq!(logout.status, 303);
    assert_eq!(
        after_logout.location.as_deref(),
        Some("/login"),
        "a session must not outlive its logout"
    );
    assert_eq!(b_after_a_logout.status, 200);
}

#[tokio::test]
async fn session_cookies_carry_their_flags() {
    let plain = provisioned(WorldOptions::new(Seed::Demo)).await;
    let https = provisioned(WorldOptions::new(Seed::Demo).configure(|config| {
        config.web.public_url = HttpUrl::parse("https://lk.example.ru");
    }))
    .await;

    let (login, password) = credentials(&plain, IVANOV);
    let plain_login = Raw::new(&plain).log_in("", &login, &password).await;
    let plain_form = Raw::new(&plain).get("/login", "").await;
    let (login, password) = credentials(&https, IVANOV);
    let https_login = Raw::new(&https).log_in("", &login, &password).await;
    let https_form = Raw::new(&https).get("/login", "").await;

    let flags = |cookie: &str| -> Vec<String> {
        cookie
            .split(';')
            .skip(1)
            .map(|flag| flag.trim().to_ascii_lowercase())
            .collect()
    };
    let session = flags(set_cookie(&plain_login, "lk_session").unwrap());
    assert!(session.contains(&"httponly".to_owned()), "{session:?}");
    assert!(session.contains(&"samesite=lax".to_owned()), "{session:?}");
    assert!(session.contains(&"path=/".to_owned()), "{session:?}");
    assert!(!session.contains(&"secure".to_owned()), "{session:?}");
    assert!(!session.iter().any(|flag| flag.starts_with("domain")));
    let form_cookie = flags(set_cookie(&plain_form, "lk_login_csrf").unwrap());
    assert!(form_cookie.contains(&"httponly".to_owned()));
    assert!(form_cookie.contains(&"samesite=strict".to_owned()));

    assert!(set_cookie(&https_login, "lk_session").is_none());
    let secure = flags(set_cookie(&https_login, "__Host-lk_session").unwrap());
    for flag in ["secure", "httponly", "samesite=lax", "path=/"] {
        assert!(
            secure.contains(&flag.to_owned()),
            "{flag} missing: {secure:?}"
        );
    }
    assert!(!secure.iter().any(|flag| flag.starts_with("domain")));
    let secure_form = flags(set_cookie(&https_form, "lk_login_csrf").unwrap());
    assert!(secure_form.contains(&"secure".to_owned()));
}

#[tokio::test]
async fn every_form_requires_its_csrf_token() {
    let world = provisioned(WorldOptions::new(Seed::Demo)).await;
    let raw = Raw::new(&world);
    let (login, password) = credentials(&world, IVANOV);
    let session =
        pair_of(set_cookie(&raw.log_in("", &login, &password).await, "lk_session").unwrap());
    let (other_login, other_password) = credentials(&world, SIDOROVA);
    let other = pair_of(
        set_cookie(
            &raw.log_in("", &other_login, &other_password).await,
            "lk_session",
        )
        .unwrap(),
    );
    let other_csrf = csrf_of(&raw.get("/", &other).await.html).unwrap();
    let (field, _) = DOCUMENT_FIELDS[3];
    let upload_path = format!("/documents/{field}");

    let mut wrong = Vec::new();
    for token in [None, Some("forged-token"), Some(other_csrf.as_str())] {
        let with = |mut form: Vec<(&'static str, String)>| {
            if let Some(token) = token {
                form.push(("csrf", token.to_owned()));
            }
            form
        };
        let posts: Vec<(&str, Vec<(&str, String)>)> = vec![
            ("/logout", with(vec![])),
            (
                "/password",
                with(vec![
                    ("current", password.clone()),
                    ("new", "NewPassword-123".to_owned()),
                    ("repeat", "NewPassword-123".to_owned()),
                ]),
            ),
        ];
        for (path, form) in posts {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let page = raw.post(path, &session, &form).await;
            // A form without the field fails to parse (422) before the check.
            let rejected = page.status == 403 || (token.is_none() && page.status == 422);
            if !rejected {
                wrong.push(format!("{path} with {token:?}: {}", page.status));
            }
        }

        let part = reqwest::multipart::Part::bytes(b"%PDF-1.4\n".to_vec()).file_name("a.pdf");
        let mut multipart = reqwest::multipart::Form::new().part("file", part);
        if let Some(token) = token {
            multipart = multipart.text("csrf", token.to_owned());
        }
        let upload = raw
            .http
            .post(format!("{}{upload_path}", raw.base_url))
            .header(COOKIE, &session)
            .multipart(multipart)
            .send()
            .await
            .unwrap();
        if upload.status().as_u16() != 403 {
            wrong.push(format!("upload with {token:?}: {}", upload.status()));
        }
    }

    let (pair, form_csrf) = raw.login_form().await;
    let login_posts = [
        ("no form cookie", String::new(), form_csrf.clone()),
        ("form cookie, other token", pair.clone(), "0".repeat(64)),
        ("form cookie, empty token", pair.clone(), String::new()),
        ("session cookie only", session.clone(), form_csrf.clone()),
    ];
    for (what, cookies, token) in login_posts {
        let page = raw
            .post(
                "/login",
                &cookies,
                &[("csrf", &token), ("login", &login), ("password", &password)],
            )
            .await;
        if page.status != 403 {
            wrong.push(format!("login with {what}: {}", page.status));
        }
    }
    let still_logged_in = raw.get("/", &session).await;
    let stats = world.cabinet.store.queue_stats().await.unwrap();
    let old_password_works = attempt(&world, &login, &password).await;

    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(
        still_logged_in.status, 200,
        "a forged logout ended the session"
    );
    assert_eq!(stats.spooled_files, 0, "a forged upload was taken");
    assert!(old_password_works.1, "a forged form changed the password");
}

#[tokio::test]
async fn client_never_reaches_another_clients_data() {
    let world = provisioned(WorldOptions::new(Seed::Demo)).await;
    let marker = "Секретное сообщение Иванова 4242";
    world
        .portal
        .set_field(IVANOV, FIELD_MESSAGE, UfValue::text(marker))
        .unwrap();
    settle_through(&world).await;
    let (login_a, _) = credentials(&world, IVANOV);
    let referral_a = world
        .cabinet
        .store
        .account_by_deal(DealId(IVANOV))
        .await
        .unwrap()
        .unwrap()
        .referral_code;
    let browser = logged_in(&world, SIDOROVA).await;
    let (field, _) = DOCUMENT_FIELDS[4];
    let files_a = world.portal.files(IVANOV, field).len();
    let files_b = world.portal.files(SIDOROVA, field).len();

    let paths = [
        "/?deal=1",
        "/?deal_id=1&id=1",
        "/payments?deal=1",
        "/documents?deal=1&uploaded=UF_CRM_1708509490009",
        "/statuses?deal_id=1",
        "/debtor?deal=1",
        "/password?deal=1",
        "/../payments",
        "/documents/../",
        "/%2e%2e/%2e%2e/payments",
        "//documents",
        "/static/../../Cargo.toml",
        "/static/style.css/../../lk.sqlite3",
        "/static/%2e%2e/%2e%2e/lk.sqlite3",
        "/documents/UF_CRM_1708509490009/../../1",
        "/deals/1",
        "/healthz",
    ];
    let mut leaks = Vec::new();
    let mut server_errors = Vec::new();
    for path in paths {
        let page = browser.get(path).await.unwrap();
        if page.status >= 500 {
            server_errors.push(format!("{path}: {}", page.status));
        }
        for secret in [marker, login_a.as_str(), referral_a.as_str()] {
            if page.html.contains(secret) {
                leaks.push(format!("{path} shows {secret}"));
            }
        }
        if page.html.contains("SQLite format") || page.html.contains("[workspace]") {
            leaks.push(format!("{path} serves a file of the server"));
        }
    }

    let csrf = csrf_of(&browser.get("/documents").await.unwrap().html).unwrap();
    let upload = browser
        .upload(
            &format!("/documents/{field}?deal=1&deal_id=1"),
            &csrf,
            "../1/passport.pdf",
            b"%PDF-1.4\n".to_vec(),
        )
        .await
        .unwrap();
    settle_through(&world).await;

    assert!(server_errors.is_empty(), "{server_errors:?}");
    assert!(leaks.is_empty(), "{leaks:#?}");
    assert_eq!(upload.status, 303);
    assert_eq!(world.portal.files(IVANOV, field).len(), files_a);
    assert_eq!(world.portal.files(SIDOROVA, field).len(), files_b + 1);
}
