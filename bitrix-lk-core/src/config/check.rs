//! Checks of configuration values that the TOML types cannot express.

use std::fmt::Display;

use crate::error::{Error, Result};
use crate::ids::FieldCode;

/// Builds the error for a value of the wrong form.
pub(super) fn invalid(key: impl Into<String>, expected: impl Into<String>) -> Error {
    Error::ConfigValue {
        key: key.into(),
        expected: expected.into(),
    }
}

/// Checks that a number lies in `min..=max`.
pub(super) fn range<T: PartialOrd + Display>(key: &str, value: T, min: T, max: T) -> Result<()> {
    if value < min || value > max {
        return Err(invalid(
            key,
            format!("a whole number from {min} to {max}, found {value}"),
        ));
    }
    Ok(())
}

/// Checks that a text is not empty or blank.
pub(super) fn not_blank(key: &str, value: &str, expected: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(invalid(key, format!("{expected}, found an empty value")));
    }
    Ok(())
}

/// Checks that a code has the form `UF_CRM_[A-Z0-9_]+`.
pub(super) fn field_code(key: &str, code: &FieldCode) -> Result<()> {
    if is_field_code(code.as_str()) {
        return Ok(());
    }
    Err(invalid(
        key,
        format!(
            "a deal user-field code such as UF_CRM_1708511654449 \
             (UF_CRM_ then capital Latin letters, digits or _), found {:?}",
            code.as_str()
        ),
    ))
}

/// Returns whether a text matches `UF_CRM_[A-Z0-9_]+`.
pub(super) fn is_field_code(code: &str) -> bool {
    code.strip_prefix("UF_CRM_").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    })
}

/// Checks that a text uses only the given characters and is at most `max_len` long.
pub(super) fn charset(
    key: &str,
    value: &str,
    allowed: impl Fn(char) -> bool,
    max_len: usize,
    description: &str,
) -> Result<()> {
    if value.chars().count() > max_len || !value.chars().all(allowed) {
        return Err(invalid(
            key,
            format!("{description}, at most {max_len} characters, found {value:?}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("UF_CRM_1708511654449", true)]
    #[case("UF_CRM_LK_LOGIN_2", true)]
    #[case("UF_CRM_", false)]
    #[case("uf_crm_1708511654449", false)]
    #[case("ufCrm_1708511654449", false)]
    #[case("UF_CRM_17085 11654449", false)]
    #[case("UF_CRM_1708511654449;", false)]
    #[case("TITLE", false)]
    #[case("", false)]
    fn field_code_pattern(#[case] code: &str, #[case] valid: bool) {
        assert_eq!(is_field_code(code), valid);
    }

    #[test]
    fn range_names_the_bounds() {
        let error = range("web.session_hours", 0u32, 1, 8760).unwrap_err();

        assert_eq!(
            error.to_string(),
            "invalid configuration value for `web.session_hours`: \
             expected a whole number from 1 to 8760, found 0"
        );
    }
}
