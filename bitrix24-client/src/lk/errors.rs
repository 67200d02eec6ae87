//! Mapping client errors onto the core's two kinds of Bitrix24 failure.

use bitrix_lk_core::Error as CoreError;

use crate::error::Error;

/// Maps a client error to [`CoreError::CrmUnavailable`] when repeating the
/// call later may succeed, and to [`CoreError::CrmRejected`] otherwise.
///
/// A "not found" is a rejection here. Callers that expect absence check
/// [`Error::is_not_found`] first and return `Ok(None)`.
pub(crate) fn to_core(error: Error) -> CoreError {
    let message = error.to_string();
    if is_temporary(&error) {
        CoreError::CrmUnavailable {
            message,
            retry_after: error.retry_after(),
            source: Some(Box::new(error)),
        }
    } else {
        CoreError::CrmRejected {
            message,
            source: Some(Box::new(error)),
        }
    }
}

/// Builds a core error with the same kind and text as `error`, for a second
/// caller of one failed batch (the original keeps the source).
pub(crate) fn copy_to_core(error: &Error) -> CoreError {
    let message = error.to_string();
    if is_temporary(error) {
        CoreError::CrmUnavailable {
            message,
            retry_after: error.retry_after(),
            source: None,
        }
    } else {
        CoreError::CrmRejected {
            message,
            source: None,
        }
    }
}

/// Transient failures, plus listings that came back inconsistent: those
/// happen when records change during paging, and a later pass reads them whole.
fn is_temporary(error: &Error) -> bool {
    error.is_transient()
        || matches!(
            error,
            Error::IncompleteListing { .. }
                | Error::InconsistentPaging { .. }
                | Error::MissingBatchResult { .. }
        )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::error::ApiError;

    #[test]
    fn rate_limit_is_unavailable_with_wait() {
        let error = Error::RateLimited {
            method: "crm.deal.get".into(),
            retry_after: Some(Duration::from_secs(3)),
        };

        let core = to_core(error);

        assert!(
            matches!(core, CoreError::CrmUnavailable { retry_after: Some(wait), .. } if wait == Duration::from_secs(3))
        );
        assert!(core.is_transient());
    }

    #[test]
    fn refusal_is_rejected() {
        let error = Error::Api {
            method: "crm.deal.update".into(),
            error: ApiError {
                status: Some(400),
                code: String::new(),
                description: "Access denied.".into(),
            },
        };

        assert!(matches!(to_core(error), CoreError::CrmRejected { .. }));
    }

    #[test]
    fn incomplete_listing_is_unavailable() {
        let error = Error::IncompleteListing {
            method: "crm.deal.list".into(),
            expected: 2490,
            received: 50,
        };

        assert!(matches!(
            copy_to_core(&error),
            CoreError::CrmUnavailable { .. }
        ));
    }
}
