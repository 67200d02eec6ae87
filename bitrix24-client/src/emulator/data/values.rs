//! Stored values of records.

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;

/// One stored value of a standard field or of one slot of a user field.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Scalar {
    Int(i64),
    Decimal(Decimal),
    Str(String),
    Bool(bool),
    Date(Date),
    DateTime(Timestamp),
    File(u64),
    IntList(Vec<i64>),
}

impl Scalar {
    pub(crate) fn as_int(&self) -> Option<i64> {
        match self {
            Scalar::Int(n) => Some(*n),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(text) => Some(text),
            _ => None,
        }
    }

    pub(crate) fn as_file(&self) -> Option<u64> {
        match self {
            Scalar::File(id) => Some(*id),
            _ => None,
        }
    }
}

/// The kind of a standard (non-user) field, which decides how it is stored and rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Double,
    Str,
    /// A `"Y"`/`"N"` flag, stored and rendered as a string.
    Char,
    Date,
    DateTime,
    IntList,
}
