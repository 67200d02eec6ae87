//! The REST methods the emulator serves, and the shared call path used by
//! plain requests and by commands inside `batch`.

mod batch;
mod deal;
mod files;
mod invoice;
mod item;
mod meta;
pub(crate) mod render;
mod userfields;

use bytes::Bytes;
use jiff::Timestamp;
use jiff::tz::Offset;

use super::data::PortalData;
use super::envelope::{ApiError, Operating, Success, Timing};
use super::options::WebhookCredentials;
use super::params::Params;
use super::state::{Shared, lock};
use render::UrlContext;
pub(crate) use userfields::scalar as userfields_scalar;

/// What one call has to work with.
pub(crate) struct Ctx<'a> {
    pub(crate) data: &'a mut PortalData,
    pub(crate) shared: &'a Shared,
    pub(crate) webhook: &'a WebhookCredentials,
}

impl Ctx<'_> {
    pub(crate) fn offset(&self) -> Offset {
        self.shared.offset
    }

    pub(crate) fn user(&self) -> u64 {
        self.webhook.user_id()
    }

    pub(crate) fn urls(&self) -> UrlContext<'_> {
        UrlContext {
            base_url: &self.shared.base_url,
            webhook: self.webhook,
            offset: self.shared.offset,
        }
    }
}

/// A file response (`crm.controller.item.getFile`).
#[derive(Clone, Debug)]
pub(crate) struct FileAnswer {
    pub(crate) name: String,
    pub(crate) bytes: Bytes,
}

#[derive(Clone, Debug)]
pub(crate) enum Outcome {
    Json(Success),
    File(FileAnswer),
}

impl From<Success> for Outcome {
    fn from(success: Success) -> Self {
        Outcome::Json(success)
    }
}

type MethodFn = fn(&mut Ctx<'_>, &Params) -> Result<Outcome, ApiError>;

#[derive(Clone, Copy)]
enum Kind {
    Plain(MethodFn),
    /// A file download: not allowed inside `batch`.
    File(MethodFn),
    Batch,
}

struct MethodSpec {
    name: &'static str,
    scope: Option<&'static str>,
    kind: Kind,
}

const CRM: Option<&str> = Some("crm");

const METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: "batch",
        scope: None,
        kind: Kind::Batch,
    },
    MethodSpec {
        name: "scope",
        scope: None,
        kind: Kind::Plain(meta::scope),
    },
    MethodSpec {
        name: "crm.deal.get",
        scope: CRM,
        kind: Kind::Plain(deal::get),
    },
    MethodSpec {
        name: "crm.deal.list",
        scope: CRM,
        kind: Kind::Plain(deal::list),
    },
    MethodSpec {
        name: "crm.deal.update",
        scope: CRM,
        kind: Kind::Plain(deal::update),
    },
    MethodSpec {
        name: "crm.deal.fields",
        scope: CRM,
        kind: Kind::Plain(meta::deal_fields),
    },
    MethodSpec {
        name: "crm.deal.userfield.list",
        scope: CRM,
        kind: Kind::Plain(meta::userfield_list),
    },
    MethodSpec {
        name: "crm.category.list",
        scope: CRM,
        kind: Kind::Plain(meta::category_list),
    },
    MethodSpec {
        name: "crm.status.list",
        scope: CRM,
        kind: Kind::Plain(meta::status_list),
    },
    MethodSpec {
        name: "crm.status.entity.types",
        scope: CRM,
        kind: Kind::Plain(meta::status_entity_types),
    },
    MethodSpec {
        name: "crm.item.get",
        scope: CRM,
        kind: Kind::Plain(item::get),
    },
    MethodSpec {
        name: "crm.item.list",
        scope: CRM,
        kind: Kind::Plain(item::list),
    },
    MethodSpec {
        name: "crm.item.update",
        scope: CRM,
        kind: Kind::Plain(item::update),
    },
    MethodSpec {
        name: "crm.invoice.get",
        scope: CRM,
        kind: Kind::Plain(invoice::get),
    },
    MethodSpec {
        name: "crm.invoice.list",
        scope: CRM,
        kind: Kind::Plain(invoice::list),
    },
    MethodSpec {
        name: "crm.controller.item.getfile",
        scope: CRM,
        kind: Kind::File(files::get_file),
    },
];

/// Normalises a requested method name: lower case, without the `.json` transport suffix.
pub(crate) fn normalize_name(raw: &str) -> String {
    let lower = raw.trim().to_ascii_lowercase();
    lower
        .strip_suffix(".json")
        .map(str::to_owned)
        .unwrap_or(lower)
}

/// The result of one call with what the envelope needs.
#[derive(Debug)]
pub(crate) struct CallResult {
    pub(crate) outcome: Result<Outcome, ApiError>,
    pub(crate) operating: Option<Operating>,
    pub(crate) timing: Timing,
}

/// Runs one call: method lookup, scope, operation-time budget, the method itself.
pub(crate) fn call(ctx: &mut Ctx<'_>, method: &str, params: &Params, in_batch: bool) -> CallResult {
    let timing = Timing::start();
    let fail = |error: ApiError| CallResult {
        outcome: Err(error),
        operating: None,
        timing,
    };

    let Some(spec) = METHODS.iter().find(|m| m.name == method) else {
        return fail(ApiError::method_not_found());
    };
    if let Some(scope) = spec.scope
        && !ctx.webhook.has_scope(scope)
    {
        let mut error = ApiError::insufficient_scope();
        if in_batch {
            error.description.clear();
        }
        return fail(error);
    }

    let handler = match (spec.kind, in_batch) {
        (Kind::Batch, true) | (Kind::File(_), true) => {
            return fail(ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "ERROR_BATCH_METHOD_NOT_ALLOWED",
                "Method is not allowed for batch usage",
            ));
        }
        (Kind::Batch, false) => {
            return CallResult {
                outcome: batch::run(ctx, params).map(Outcome::Json),
                operating: Some(Operating::default()),
                timing,
            };
        }
        (Kind::Plain(handler) | Kind::File(handler), _) => handler,
    };

    let now = Timestamp::now().as_second();
    let user = ctx.user();
    if lock(&ctx.shared.operating).is_blocked(user, method, now) {
        lock(&ctx.shared.log).counters.operation_limited += 1;
        return fail(ApiError::operation_time_limit());
    }

    let outcome = handler(ctx, params);
    let operating = lock(&ctx.shared.operating).charge(user, method, timing.elapsed_seconds(), now);
    CallResult {
        outcome,
        operating: Some(operating),
        timing,
    }
}
