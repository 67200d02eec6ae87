//! Inputs of the Rust API: field definitions, field values, new records.

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::emulator::data::PortalData;
use crate::emulator::data::fields::{UserField, UserFieldType};
use crate::emulator::data::values::Scalar;
use crate::emulator::error::{EmulatorError, Result};
use crate::emulator::methods::userfields_scalar;

/// A deal user field to create.
#[derive(Clone, Debug)]
pub struct UserFieldSpec {
    pub(crate) code: String,
    pub(crate) kind: UserFieldType,
    pub(crate) multiple: bool,
    pub(crate) label: String,
    pub(crate) items: Vec<String>,
}

impl UserFieldSpec {
    /// Creates a single-value field; the label defaults to the code.
    pub fn new(code: impl Into<String>, kind: UserFieldType) -> Self {
        let code = code.into();
        Self {
            label: code.clone(),
            code,
            kind,
            multiple: false,
            items: Vec::new(),
        }
    }

    /// Sets the label staff see (default: the code).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Makes the field hold several values (default: one).
    pub fn multiple(mut self) -> Self {
        self.multiple = true;
        self
    }

    /// Sets the items of an enumeration field, in order (default: none).
    pub fn items<I, S>(mut self, items: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.items = items.into_iter().map(Into::into).collect();
        self
    }
}

/// A value for a deal user field, as staff would enter it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum UfValue {
    /// No value: clears the field.
    Empty,
    /// Text; for an enumeration field, an item label or id.
    Text(String),
    /// An enumeration item by its label.
    EnumLabel(String),
    /// An enumeration item by its id.
    EnumId(u64),
    /// A money amount (`amount|currency`).
    Money {
        /// The amount.
        amount: Decimal,
        /// The ISO currency code, e.g. `RUB`.
        currency: String,
    },
    /// A number for double or integer fields.
    Number(Decimal),
    /// A yes/no value.
    Bool(bool),
    /// A calendar day.
    Date(Date),
    /// An instant.
    DateTime(Timestamp),
    /// A file to upload into a file field.
    File {
        /// The file name.
        name: String,
        /// The file contents.
        bytes: Vec<u8>,
    },
    /// Several values for a multiple field.
    List(Vec<UfValue>),
}

impl UfValue {
    /// Creates a [`UfValue::Text`].
    pub fn text(text: impl Into<String>) -> Self {
        UfValue::Text(text.into())
    }

    /// Creates a [`UfValue::Money`] in roubles.
    pub fn rubles(amount: impl Into<Decimal>) -> Self {
        UfValue::Money {
            amount: amount.into(),
            currency: "RUB".to_owned(),
        }
    }

    /// Creates a [`UfValue::File`].
    pub fn file(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        UfValue::File {
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

impl From<&str> for UfValue {
    fn from(text: &str) -> Self {
        UfValue::Text(text.to_owned())
    }
}

impl From<String> for UfValue {
    fn from(text: String) -> Self {
        UfValue::Text(text)
    }
}

fn invalid(field: &UserField, reason: impl Into<String>) -> EmulatorError {
    EmulatorError::InvalidValue {
        field: field.name.clone(),
        reason: reason.into(),
    }
}

/// Converts a value to stored slots, storing uploaded files.
pub(crate) fn to_scalars(
    data: &mut PortalData,
    field: &UserField,
    value: UfValue,
) -> Result<Vec<Scalar>> {
    let items = match value {
        UfValue::Empty => return Ok(Vec::new()),
        UfValue::List(items) => items,
        single => vec![single],
    };
    if !field.multiple && items.len() > 1 {
        return Err(invalid(
            field,
            "the field holds one value, a list of several was given",
        ));
    }
    items
        .into_iter()
        .filter(|item| *item != UfValue::Empty)
        .map(|item| to_scalar(data, field, item))
        .collect()
}

fn to_scalar(data: &mut PortalData, field: &UserField, value: UfValue) -> Result<Scalar> {
    let offset = data.offset;
    let parsed = |text: String| {
        userfields_scalar(field, &Value::String(text.clone()), offset).ok_or_else(|| {
            invalid(
                field,
                format!(
                    "{text:?} is not a valid {} value",
                    field.kind.user_type_id()
                ),
            )
        })
    };

    match (field.kind, value) {
        (UserFieldType::File, UfValue::File { name, bytes }) => {
            Ok(Scalar::File(data.store_file(&name, bytes.into())))
        }
        (UserFieldType::File, _) | (_, UfValue::File { .. }) => Err(invalid(
            field,
            "files go only into file fields, and file fields take only files",
        )),
        (UserFieldType::Enumeration, UfValue::EnumLabel(label) | UfValue::Text(label)) => field
            .items
            .iter()
            .find(|item| item.value == label || item.id.to_string() == label)
            .map(|item| Scalar::Int(item.id as i64))
            .ok_or_else(|| EmulatorError::UnknownEnumItem {
                field: field.name.clone(),
                label,
            }),
        (_, UfValue::EnumId(id)) => parsed(id.to_string()),
        (_, UfValue::EnumLabel(label)) => Err(invalid(
            field,
            format!("{label:?} is an item label, but the field is not a list"),
        )),
        (UserFieldType::Boolean, UfValue::Bool(flag)) => Ok(Scalar::Bool(flag)),
        (_, UfValue::Bool(flag)) => parsed(if flag { "1" } else { "0" }.to_owned()),
        (UserFieldType::Money, UfValue::Money { amount, currency }) => {
            Ok(Scalar::Str(format!("{amount}|{currency}")))
        }
        (_, UfValue::Money { amount, .. }) => parsed(amount.to_string()),
        (_, UfValue::Number(number)) => parsed(number.to_string()),
        (UserFieldType::Date, UfValue::DateTime(ts)) => {
            Ok(Scalar::Date(offset.to_datetime(ts).date()))
        }
        (UserFieldType::DateTime, UfValue::DateTime(ts)) => Ok(Scalar::DateTime(ts)),
        (_, UfValue::DateTime(ts)) => parsed(ts.to_string()),
        (UserFieldType::Date, UfValue::Date(day)) => Ok(Scalar::Date(day)),
        (_, UfValue::Date(day)) => parsed(day.to_string()),
        (_, UfValue::Text(text)) => parsed(text),
        (_, UfValue::Empty | UfValue::List(_)) => {
            Err(invalid(field, "nested lists are not values"))
        }
    }
}

/// A contact to create.
#[derive(Clone, Debug, Default)]
pub struct NewContact {
    pub(crate) name: String,
    pub(crate) last_name: String,
    pub(crate) phone: String,
    pub(crate) email: String,
}

impl NewContact {
    /// Creates a contact with a first and last name.
    pub fn new(name: impl Into<String>, last_name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            last_name: last_name.into(),
            ..Self::default()
        }
    }

    /// Sets the phone number (default: none).
    pub fn phone(mut self, phone: impl Into<String>) -> Self {
        self.phone = phone.into();
        self
    }

    /// Sets the e-mail address (default: none).
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = email.into();
        self
    }
}

/// A deal to create.
#[derive(Clone, Debug)]
pub struct NewDeal {
    pub(crate) title: String,
    pub(crate) pipeline: u64,
    pub(crate) stage: Option<String>,
    pub(crate) contact_id: Option<u64>,
    pub(crate) amount: Decimal,
    pub(crate) currency: String,
    pub(crate) fields: Vec<(String, UfValue)>,
}

impl NewDeal {
    /// Creates a deal in the general pipeline (id 0), first stage, no contact, amount 0 RUB.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            pipeline: 0,
            stage: None,
            contact_id: None,
            amount: Decimal::ZERO,
            currency: "RUB".to_owned(),
            fields: Vec::new(),
        }
    }

    /// Sets the pipeline (category) id (default 0, the general pipeline).
    pub fn pipeline(mut self, id: u64) -> Self {
        self.pipeline = id;
        self
    }

    /// Sets the full stage id, e.g. `C7:NEW` (default: the pipeline's first stage).
    pub fn stage(mut self, stage: impl Into<String>) -> Self {
        self.stage = Some(stage.into());
        self
    }

    /// Links the deal to a contact (default: none).
    pub fn contact(mut self, contact_id: u64) -> Self {
        self.contact_id = Some(contact_id);
        self
    }

    /// Sets the deal amount in roubles (default 0).
    pub fn amount(mut self, amount: impl Into<Decimal>) -> Self {
        self.amount = amount.into();
        self
    }

    /// Sets a user field (default: all empty).
    pub fn field(mut self, code: impl Into<String>, value: UfValue) -> Self {
        self.fields.push((code.into(), value));
        self
    }
}

/// A smart invoice to create.
#[derive(Clone, Debug)]
pub struct NewSmartInvoice {
    pub(crate) title: String,
    pub(crate) deal_id: Option<u64>,
    pub(crate) contact_id: Option<u64>,
    pub(crate) amount: Decimal,
    pub(crate) currency: String,
    pub(crate) stage: Option<String>,
    pub(crate) paid: bool,
}

impl NewSmartInvoice {
    /// Creates an unpaid invoice of `amount` roubles in the first stage of the default pipeline.
    pub fn new(title: impl Into<String>, amount: impl Into<Decimal>) -> Self {
        Self {
            title: title.into(),
            deal_id: None,
            contact_id: None,
            amount: amount.into(),
            currency: "RUB".to_owned(),
            stage: None,
            paid: false,
        }
    }

    /// Links the invoice to a deal (`parentId2`; default: none).
    pub fn deal(mut self, deal_id: u64) -> Self {
        self.deal_id = Some(deal_id);
        self
    }

    /// Links the invoice to a contact (default: none).
    pub fn contact(mut self, contact_id: u64) -> Self {
        self.contact_id = Some(contact_id);
        self
    }

    /// Puts the invoice in the success stage (default: unpaid).
    pub fn paid(mut self) -> Self {
        self.paid = true;
        self
    }

    /// Sets the full stage id, e.g. `DT31_1:S` (default: the first stage).
    pub fn stage(mut self, stage: impl Into<String>) -> Self {
        self.stage = Some(stage.into());
        self
    }
}

/// A legacy invoice (`crm.invoice.*`) to create.
#[derive(Clone, Debug)]
pub struct NewLegacyInvoice {
    pub(crate) topic: String,
    pub(crate) deal_id: Option<u64>,
    pub(crate) contact_id: Option<u64>,
    pub(crate) price: Decimal,
    pub(crate) currency: String,
    pub(crate) status: String,
}

impl NewLegacyInvoice {
    /// Creates an invoice of `price` roubles with status `N` (new).
    pub fn new(topic: impl Into<String>, price: impl Into<Decimal>) -> Self {
        Self {
            topic: topic.into(),
            deal_id: None,
            contact_id: None,
            price: price.into(),
            currency: "RUB".to_owned(),
            status: "N".to_owned(),
        }
    }

    /// Links the invoice to a deal (`UF_DEAL_ID`; default: none).
    pub fn deal(mut self, deal_id: u64) -> Self {
        self.deal_id = Some(deal_id);
        self
    }

    /// Links the invoice to a contact (`UF_CONTACT_ID`; default: none).
    pub fn contact(mut self, contact_id: u64) -> Self {
        self.contact_id = Some(contact_id);
        self
    }

    /// Sets the status: `N` new, `S` sent, `P` paid, `D` declined (default `N`).
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = status.into();
        self
    }
}
