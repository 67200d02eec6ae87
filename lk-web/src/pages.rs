//! The page templates (askama, HTML auto-escaped) and their data.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Html;
use bitrix_lk_core::BrandingConfig;
use bitrix_lk_core::CabinetView;

use crate::video::VideoEmbed;

/// The header and footer data every page shares.
#[derive(Clone, Debug)]
pub struct Nav {
    /// The firm's name.
    pub company: String,
    /// The firm's phone, when configured.
    pub phone: Option<String>,
    /// The phone as a `tel:` target: only `+` and digits.
    pub phone_href: String,
    /// The firm's e-mail, when configured.
    pub email: Option<String>,
    /// Whether a client is logged in (shows the menu and the logout button).
    pub logged_in: bool,
    /// Whether the cabinet is blocked (the menu is hidden).
    pub blocked: bool,
    /// The current section, for `aria-current`.
    pub active: &'static str,
    /// The session's CSRF token for the logout form.
    pub csrf: String,
}

impl Nav {
    /// Builds the navigation of a page without a logged-in client.
    pub fn anonymous(branding: &BrandingConfig) -> Self {
        Self {
            company: branding.company_name.clone(),
            phone: branding.phone().map(str::to_owned),
            phone_href: branding.phone().map(tel_target).unwrap_or_default(),
            email: branding.email().map(str::to_owned),
            logged_in: false,
            blocked: false,
            active: "",
            csrf: String::new(),
        }
    }

    /// Builds the navigation of a logged-in client's page.
    pub fn client(
        branding: &BrandingConfig,
        active: &'static str,
        csrf: &str,
        blocked: bool,
    ) -> Self {
        Self {
            logged_in: true,
            blocked,
            active,
            csrf: csrf.to_owned(),
            ..Self::anonymous(branding)
        }
    }
}

/// Keeps the `+` and digits of a phone number, for a `tel:` link.
fn tel_target(phone: &str) -> String {
    phone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

/// A one-line result shown above a form.
#[derive(Clone, Debug)]
pub struct Notice {
    /// Whether it reports success (green) or a problem (red).
    pub ok: bool,
    /// The text.
    pub text: String,
}

/// «Вход».
#[derive(Template, Debug)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// Header data.
    pub nav: Nav,
    /// The login form's CSRF token (double-submit cookie).
    pub csrf: String,
    /// The login typed before, kept after a failure.
    pub login: String,
    /// The neutral error after a failed attempt.
    pub error: Option<&'static str>,
}

/// «Мое дело».
#[derive(Template, Debug)]
#[template(path = "case.html")]
pub struct CasePage<'a> {
    /// Header data.
    pub nav: Nav,
    /// The client's cabinet.
    pub view: &'a CabinetView,
}

/// The paid invoices.
#[derive(Template, Debug)]
#[template(path = "payments.html")]
pub struct PaymentsPage<'a> {
    /// Header data.
    pub nav: Nav,
    /// The client's cabinet.
    pub view: &'a CabinetView,
}

/// «Список необходимых документов».
#[derive(Template, Debug)]
#[template(path = "documents.html")]
pub struct DocumentsPage<'a> {
    /// Header data.
    pub nav: Nav,
    /// The client's cabinet.
    pub view: &'a CabinetView,
    /// The result of the last upload.
    pub notice: Option<Notice>,
    /// The upload limit shown to the client.
    pub max_megabytes: u32,
    /// Fields with uploads still on their way to Bitrix24.
    pub sending: Vec<bitrix_lk_core::FieldCode>,
}

/// «Подробное описание статусов».
#[derive(Template, Debug)]
#[template(path = "statuses.html")]
pub struct StatusesPage<'a> {
    /// Header data.
    pub nav: Nav,
    /// The client's cabinet.
    pub view: &'a CabinetView,
    /// The video block; `None` hides it.
    pub video: Option<VideoEmbed>,
}

/// «Должник»: shown instead of every page while the deal is in a debtor stage.
#[derive(Template, Debug)]
#[template(path = "debtor.html")]
pub struct DebtorPage<'a> {
    /// Header data.
    pub nav: Nav,
    /// The client's cabinet.
    pub view: &'a CabinetView,
}

/// The password change page.
#[derive(Template, Debug)]
#[template(path = "password.html")]
pub struct PasswordPage {
    /// Header data.
    pub nav: Nav,
    /// The result of the last change.
    pub notice: Option<Notice>,
}

/// Shown instead of every page when the client's deal is no longer known
/// (deleted in Bitrix24): the menu is hidden, logout and contacts stay.
#[derive(Template, Debug)]
#[template(path = "unavailable.html")]
pub struct UnavailablePage {
    /// Header data.
    pub nav: Nav,
}

/// A generic error page.
#[derive(Template, Debug)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Header data.
    pub nav: Nav,
    /// The HTTP status line.
    pub status: String,
    /// The message.
    pub text: String,
}

impl ErrorPage {
    /// Renders an error page with the firm's branding; falls back to plain
    /// text if rendering fails.
    pub fn render_html(branding: &BrandingConfig, status: StatusCode, text: &str) -> Html<String> {
        let page = ErrorPage {
            nav: Nav::anonymous(branding),
            status: format!("Ошибка {}", status.as_u16()),
            text: text.to_owned(),
        };
        Html(page.render().unwrap_or_else(|_| text.to_owned()))
    }
}

/// Renders a template into an HTML response.
pub fn render(template: &impl Template) -> Result<Html<String>, crate::error::WebError> {
    Ok(Html(template.render()?))
}
