//! Reading the TOML file: custom value forms and the mapping of parser
//! errors to [`Error`] with the dotted key and the expected form.

use std::fmt;
use std::net::SocketAddr;

use secrecy::SecretString;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Unexpected, Visitor};

use crate::error::{Error, Result};
use crate::ids::FieldCode;
use crate::view::HttpUrl;

/// Deserializes `text` into `T`, naming the dotted key of any failure.
pub(super) fn parse<T: DeserializeOwned>(text: &str) -> Result<T> {
    let deserializer = toml::Deserializer::parse(text).map_err(|error| Error::ConfigSyntax {
        message: describe_syntax_error(text, &error),
    })?;

    serde_path_to_error::deserialize(deserializer).map_err(|error| map_error(text, &error))
}

/// Describes a TOML syntax error by position and message only: the parser's
/// own rendering quotes the source line, which may hold the webhook secret.
fn describe_syntax_error(text: &str, error: &toml::de::Error) -> String {
    match error.span() {
        Some(span) => {
            let (line, column) = position_of(text, span.start);
            format!("line {line}, column {column}: {}", error.message())
        }
        None => error.message().to_owned(),
    }
}

fn map_error(text: &str, error: &serde_path_to_error::Error<toml::de::Error>) -> Error {
    let key = error.path().to_string();
    let inner = error.inner();
    let message = inner.message();
    let at_line = inner
        .span()
        .map(|span| format!(" (line {})", position_of(text, span.start).0))
        .unwrap_or_default();

    if message.starts_with("unknown field") {
        return Error::ConfigSyntax {
            message: format!("unknown key `{key}`{at_line}: {message}"),
        };
    }

    match expected_form(message) {
        Some(expected) => Error::ConfigValue {
            key,
            expected: format!("{expected}{at_line}"),
        },
        None => Error::ConfigSyntax {
            message: format!("`{key}`{at_line}: {message}"),
        },
    }
}

/// Turns serde's "invalid type: X, expected Y" into "Y, found X".
fn expected_form(message: &str) -> Option<String> {
    let (head, expected) = message.rsplit_once(", expected ")?;
    let found = ["invalid type: ", "invalid value: ", "unknown variant "]
        .iter()
        .find_map(|prefix| head.strip_prefix(prefix))
        .unwrap_or(head);

    let expected = match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        other => other,
    };
    Some(format!("{expected}, found {found}"))
}

/// Returns the 1-based line and column of a byte offset.
fn position_of(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    (line, column)
}

/// Reads a secret string; an empty or blank value means "not set".
pub(super) fn optional_secret<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SecretString>, D::Error> {
    let value = String::deserialize(deserializer)?;
    let trimmed = value.trim();
    Ok((!trimmed.is_empty()).then(|| SecretString::from(trimmed)))
}

/// Reads a list of secret strings, trimmed. Blank entries are kept so that
/// validation can point at them. A single string instead of a list is
/// rejected without repeating it, because it is a secret.
pub(super) fn secret_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<SecretString>, D::Error> {
    deserializer.deserialize_seq(SecretListVisitor)
}

struct SecretListVisitor;

impl<'de> Visitor<'de> for SecretListVisitor {
    type Value = Vec<SecretString>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a list of strings such as [\"token\"]")
    }

    fn visit_str<E: de::Error>(self, _secret: &str) -> Result<Self::Value, E> {
        Err(E::invalid_type(
            Unexpected::Other("a single string (not shown, it is secret)"),
            &self,
        ))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Self::Value, A::Error> {
        let mut values = Vec::new();
        while let Some(value) = items.next_element::<String>()? {
            values.push(SecretString::from(value.trim()));
        }
        Ok(values)
    }
}

/// Reads an optional http(s) URL; an empty string means "not set".
pub(super) fn optional_url<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<HttpUrl>, D::Error> {
    let value = String::deserialize(deserializer)?;
    if value.trim().is_empty() {
        return Ok(None);
    }
    HttpUrl::parse(&value).map(Some).ok_or_else(|| {
        de::Error::invalid_value(
            Unexpected::Str(&value),
            &"an http(s) URL such as https://lk.example.ru, or an empty string",
        )
    })
}

/// Reads a socket address such as `127.0.0.1:8080`.
pub(super) fn socket_addr<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<SocketAddr, D::Error> {
    let value = String::deserialize(deserializer)?;
    value.trim().parse().map_err(|_| {
        de::Error::invalid_value(
            Unexpected::Str(&value),
            &"an IP address and port such as 127.0.0.1:8080 or [::1]:8080",
        )
    })
}

/// Reads an optional field code; an empty string means "not set".
pub(super) fn optional_field_code<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<FieldCode>, D::Error> {
    let value = String::deserialize(deserializer)?;
    let trimmed = value.trim();
    Ok((!trimmed.is_empty()).then(|| FieldCode(trimmed.to_owned())))
}

/// Reads a list whose items are strings or whole numbers, as strings:
/// enumeration item ids may be written either way.
pub(super) fn id_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct IdListVisitor;

    impl<'de> Visitor<'de> for IdListVisitor {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of ids such as [3157, 3159]")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut ids = Vec::new();
            while let Some(id) = seq.next_element::<IdItem>()? {
                ids.push(id.0);
            }
            Ok(ids)
        }
    }

    deserializer.deserialize_seq(IdListVisitor)
}

/// One enumeration item id, written as a string or a whole number.
struct IdItem(String);

impl<'de> Deserialize<'de> for IdItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;

        impl Visitor<'_> for IdVisitor {
            type Value = IdItem;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id written as a string or a whole number")
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<IdItem, E> {
                Ok(IdItem(value.to_string()))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<IdItem, E> {
                Ok(IdItem(value.to_string()))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<IdItem, E> {
                Ok(IdItem(value.trim().to_owned()))
            }
        }

        deserializer.deserialize_any(IdVisitor)
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case(
        "invalid type: integer `5`, expected a string",
        "a string, found integer `5`"
    )]
    #[case(
        "invalid value: integer `-1`, expected u32",
        "a whole number, 0 or more, found integer `-1`"
    )]
    #[case(
        "unknown variant `x`, expected `deal` or `deal_and_contact`",
        "`deal` or `deal_and_contact`, found `x`"
    )]
    fn expected_form_rewrites_serde_messages(#[case] message: &str, #[case] expected: &str) {
        assert_eq!(expected_form(message).as_deref(), Some(expected));
    }

    #[test]
    fn position_counts_lines_and_columns() {
        let text = "a = 1\nbb = 2\n";

        assert_eq!(position_of(text, 0), (1, 1));
        assert_eq!(position_of(text, 6), (2, 1));
        assert_eq!(position_of(text, 9), (2, 4));
    }
}
