//! Field tables: the standard fields of each entity and the deal user fields.

use super::values::Kind;

/// A standard field of an entity, with its legacy (UPPER_CASE) and universal (camelCase) names.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StdField {
    /// The legacy name; also the name the emulator stores the value under.
    pub(crate) name: &'static str,
    /// The `crm.item.*` name, or `""` when the universal API has no such field.
    pub(crate) camel: &'static str,
    pub(crate) kind: Kind,
    /// The `type` shown by `crm.deal.fields`.
    pub(crate) ty: &'static str,
    pub(crate) read_only: bool,
    pub(crate) immutable: bool,
    pub(crate) title: &'static str,
    pub(crate) status_type: Option<&'static str>,
    pub(crate) parent_entity_type_id: Option<u32>,
    pub(crate) deprecated: bool,
    /// Whether legacy `get`/`list` rows carry the field (`CONTACT_IDS` is only in `fields`).
    pub(crate) legacy_row: bool,
}

const fn field(
    name: &'static str,
    camel: &'static str,
    kind: Kind,
    ty: &'static str,
    title: &'static str,
) -> StdField {
    StdField {
        name,
        camel,
        kind,
        ty,
        read_only: false,
        immutable: false,
        title,
        status_type: None,
        parent_entity_type_id: None,
        deprecated: false,
        legacy_row: true,
    }
}

const fn ro(mut f: StdField) -> StdField {
    f.read_only = true;
    f
}

const fn status(mut f: StdField, status_type: &'static str) -> StdField {
    f.status_type = Some(status_type);
    f
}

const fn parent(mut f: StdField, entity_type_id: u32) -> StdField {
    f.parent_entity_type_id = Some(entity_type_id);
    f
}

use Kind::{Char, Date, DateTime, Double, Int, IntList, Str};

/// The standard deal fields, in the order `crm.deal.get` shows them.
pub(crate) const DEAL_FIELDS: &[StdField] = &[
    ro(field("ID", "id", Int, "integer", "ID")),
    field("TITLE", "title", Str, "string", "Title"),
    status(
        field("TYPE_ID", "typeId", Str, "crm_status", "Type"),
        "DEAL_TYPE",
    ),
    status(
        field("STAGE_ID", "stageId", Str, "crm_status", "Deal Stage"),
        "DEAL_STAGE",
    ),
    field("PROBABILITY", "probability", Int, "integer", "Probability"),
    field("CURRENCY_ID", "currencyId", Str, "crm_currency", "Currency"),
    field("OPPORTUNITY", "opportunity", Double, "double", "Amount"),
    field(
        "IS_MANUAL_OPPORTUNITY",
        "isManualOpportunity",
        Char,
        "char",
        "IS_MANUAL_OPPORTUNITY",
    ),
    field("TAX_VALUE", "taxValue", Double, "double", "Tax Rate"),
    parent(ro(field("LEAD_ID", "leadId", Int, "crm_lead", "Lead")), 1),
    parent(
        field("COMPANY_ID", "companyId", Int, "crm_company", "Company"),
        4,
    ),
    StdField {
        deprecated: true,
        ..field("CONTACT_ID", "contactId", Int, "crm_contact", "Contact")
    },
    parent(
        ro(field("QUOTE_ID", "quoteId", Int, "crm_quote", "Estimate")),
        7,
    ),
    field("BEGINDATE", "begindate", Date, "date", "Start Date"),
    field("CLOSEDATE", "closedate", Date, "date", "Close Date"),
    field("ASSIGNED_BY_ID", "assignedById", Int, "user", "Responsible"),
    ro(field(
        "CREATED_BY_ID",
        "createdBy",
        Int,
        "user",
        "Created By",
    )),
    ro(field(
        "MODIFY_BY_ID",
        "updatedBy",
        Int,
        "user",
        "Modified By",
    )),
    ro(field(
        "DATE_CREATE",
        "createdTime",
        DateTime,
        "datetime",
        "Creation Date",
    )),
    ro(field(
        "DATE_MODIFY",
        "updatedTime",
        DateTime,
        "datetime",
        "Modification Date",
    )),
    field("OPENED", "opened", Char, "char", "Available to All"),
    field("CLOSED", "closed", Char, "char", "Closed"),
    field("COMMENTS", "comments", Str, "string", "Comment"),
    field(
        "ADDITIONAL_INFO",
        "",
        Str,
        "string",
        "Additional Information",
    ),
    field("LOCATION_ID", "locationId", Str, "location", "Location"),
    StdField {
        immutable: true,
        ..field(
            "CATEGORY_ID",
            "categoryId",
            Int,
            "crm_category",
            "Sales Funnel",
        )
    },
    ro(field(
        "STAGE_SEMANTIC_ID",
        "stageSemanticId",
        Str,
        "string",
        "Stage Group",
    )),
    ro(field("IS_NEW", "isNew", Char, "char", "New Deal")),
    field(
        "IS_RECURRING",
        "isRecurring",
        Char,
        "char",
        "Recurring Deal",
    ),
    field(
        "IS_RETURN_CUSTOMER",
        "isReturnCustomer",
        Char,
        "char",
        "Repeat Deal",
    ),
    field(
        "IS_REPEATED_APPROACH",
        "isRepeatedApproach",
        Char,
        "char",
        "Repeated Approach",
    ),
    status(
        field("SOURCE_ID", "sourceId", Str, "crm_status", "Source"),
        "SOURCE",
    ),
    field(
        "SOURCE_DESCRIPTION",
        "sourceDescription",
        Str,
        "string",
        "Additional Info about Source",
    ),
    field(
        "ORIGINATOR_ID",
        "originatorId",
        Str,
        "string",
        "External Source",
    ),
    field(
        "ORIGIN_ID",
        "originId",
        Str,
        "string",
        "Identifier in External Source",
    ),
    ro(field("MOVED_BY_ID", "movedBy", Int, "user", "MOVED_BY_ID")),
    ro(field(
        "MOVED_TIME",
        "movedTime",
        DateTime,
        "datetime",
        "MOVED_TIME",
    )),
    ro(field(
        "LAST_ACTIVITY_TIME",
        "lastActivityTime",
        DateTime,
        "datetime",
        "LAST_ACTIVITY_TIME",
    )),
    field(
        "UTM_SOURCE",
        "utmSource",
        Str,
        "string",
        "Advertising System",
    ),
    field("UTM_MEDIUM", "utmMedium", Str, "string", "Traffic Type"),
    field(
        "UTM_CAMPAIGN",
        "utmCampaign",
        Str,
        "string",
        "Campaign Identifier",
    ),
    field(
        "UTM_CONTENT",
        "utmContent",
        Str,
        "string",
        "Campaign Content",
    ),
    field(
        "UTM_TERM",
        "utmTerm",
        Str,
        "string",
        "Campaign Search Condition",
    ),
    ro(field(
        "LAST_ACTIVITY_BY",
        "lastActivityBy",
        Int,
        "user",
        "LAST_ACTIVITY_BY",
    )),
    StdField {
        legacy_row: false,
        ..field(
            "CONTACT_IDS",
            "contactIds",
            IntList,
            "crm_contact",
            "Contacts",
        )
    },
    StdField {
        legacy_row: false,
        ..field("OBSERVERS", "observers", IntList, "user", "Observers")
    },
];

/// The fields of a smart invoice (entity type 31); only `crm.item.*` shows them.
pub(crate) const SMART_INVOICE_FIELDS: &[StdField] = &[
    ro(field("ID", "id", Int, "integer", "ID")),
    field("XML_ID", "xmlId", Str, "string", "External ID"),
    field("TITLE", "title", Str, "string", "Name"),
    ro(field("CREATED_BY", "createdBy", Int, "user", "Created by")),
    ro(field("UPDATED_BY", "updatedBy", Int, "user", "Updated by")),
    ro(field("MOVED_BY", "movedBy", Int, "user", "Moved by")),
    ro(field(
        "CREATED_TIME",
        "createdTime",
        DateTime,
        "datetime",
        "Created on",
    )),
    ro(field(
        "UPDATED_TIME",
        "updatedTime",
        DateTime,
        "datetime",
        "Updated on",
    )),
    ro(field(
        "MOVED_TIME",
        "movedTime",
        DateTime,
        "datetime",
        "Moved on",
    )),
    field("CATEGORY_ID", "categoryId", Int, "crm_category", "Pipeline"),
    field("OPENED", "opened", Char, "boolean", "Available to everyone"),
    field("STAGE_ID", "stageId", Str, "crm_status", "Stage"),
    ro(field(
        "PREVIOUS_STAGE_ID",
        "previousStageId",
        Str,
        "crm_status",
        "Previous stage",
    )),
    field("BEGINDATE", "begindate", Date, "date", "Invoice date"),
    field("CLOSEDATE", "closedate", Date, "date", "Due date"),
    field("COMPANY_ID", "companyId", Int, "crm_company", "Company"),
    field("CONTACT_ID", "contactId", Int, "crm_contact", "Contact"),
    field("OPPORTUNITY", "opportunity", Double, "double", "Amount"),
    field(
        "IS_MANUAL_OPPORTUNITY",
        "isManualOpportunity",
        Char,
        "boolean",
        "Manual amount",
    ),
    field("TAX_VALUE", "taxValue", Double, "double", "Tax"),
    field("CURRENCY_ID", "currencyId", Str, "crm_currency", "Currency"),
    field(
        "MYCOMPANY_ID",
        "mycompanyId",
        Int,
        "crm_company",
        "Your company details",
    ),
    field("SOURCE_ID", "sourceId", Str, "crm_status", "Source"),
    field(
        "SOURCE_DESCRIPTION",
        "sourceDescription",
        Str,
        "string",
        "Source information",
    ),
    field(
        "WEBFORM_ID",
        "webformId",
        Int,
        "integer",
        "Created by CRM form",
    ),
    field(
        "ASSIGNED_BY_ID",
        "assignedById",
        Int,
        "user",
        "Responsible person",
    ),
    field(
        "ACCOUNT_NUMBER",
        "accountNumber",
        Str,
        "string",
        "Invoice #",
    ),
    field("COMMENTS", "comments", Str, "text", "Comment"),
    field("LOCATION_ID", "locationId", Str, "location", "Location"),
    field("PARENT_ID_2", "parentId2", Int, "crm_entity", "Deal"),
    field("OBSERVERS", "observers", IntList, "user", "Observers"),
    field(
        "CONTACT_IDS",
        "contactIds",
        IntList,
        "crm_contact",
        "Contacts",
    ),
];

/// The fields of a legacy invoice (`crm.invoice.*`).
pub(crate) const LEGACY_INVOICE_FIELDS: &[StdField] = &[
    ro(field("ID", "", Int, "integer", "ID")),
    field("ACCOUNT_NUMBER", "", Str, "string", "Invoice #"),
    field("ORDER_TOPIC", "", Str, "string", "Subject"),
    status(
        field("STATUS_ID", "", Str, "crm_status", "Status"),
        "INVOICE_STATUS",
    ),
    ro(field("PRICE", "", Double, "double", "Total amount")),
    field("CURRENCY", "", Str, "crm_currency", "Currency"),
    ro(field("PAYED", "", Char, "char", "Paid")),
    ro(field(
        "DATE_PAYED",
        "",
        DateTime,
        "datetime",
        "Payment date",
    )),
    field("DATE_BILL", "", Date, "date", "Invoice date"),
    field("DATE_PAY_BEFORE", "", Date, "date", "Pay before"),
    ro(field("DATE_INSERT", "", DateTime, "datetime", "Created on")),
    ro(field(
        "DATE_UPDATE",
        "",
        DateTime,
        "datetime",
        "Modified on",
    )),
    ro(field(
        "DATE_STATUS",
        "",
        DateTime,
        "datetime",
        "Status changed on",
    )),
    field(
        "PAY_VOUCHER_DATE",
        "",
        Date,
        "date",
        "Payment document date",
    ),
    field("PAY_VOUCHER_NUM", "", Str, "string", "Payment document #"),
    field("PERSON_TYPE_ID", "", Int, "integer", "Payer type"),
    field("RESPONSIBLE_ID", "", Int, "user", "Responsible person"),
    field("COMMENTS", "", Str, "string", "Manager comment"),
    field("USER_DESCRIPTION", "", Str, "string", "Comment"),
    field("UF_DEAL_ID", "", Int, "integer", "Deal"),
    field("UF_CONTACT_ID", "", Int, "integer", "Contact"),
    field("UF_COMPANY_ID", "", Int, "integer", "Company"),
    field("UF_MYCOMPANY_ID", "", Int, "integer", "Your company"),
];

/// Looks a standard field up by its legacy name.
pub(crate) fn by_name(table: &'static [StdField], name: &str) -> Option<&'static StdField> {
    table.iter().find(|f| f.name == name)
}

/// Looks a standard field up by its `crm.item.*` name.
pub(crate) fn by_camel(table: &'static [StdField], camel: &str) -> Option<&'static StdField> {
    table
        .iter()
        .find(|f| !f.camel.is_empty() && f.camel == camel)
}

/// The type of a deal user field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UserFieldType {
    /// `string`: a line of text.
    String,
    /// `url`: a link.
    Url,
    /// `money`: `"150000|RUB"`.
    Money,
    /// `double`: a decimal number.
    Double,
    /// `integer`: a whole number.
    Integer,
    /// `boolean`: yes or no.
    Boolean,
    /// `date`: a calendar day.
    Date,
    /// `datetime`: an instant.
    DateTime,
    /// `enumeration`: a list whose values are item ids.
    Enumeration,
    /// `file`: uploaded files.
    File,
    /// `employee`: a user id.
    Employee,
}

impl UserFieldType {
    /// Returns the `USER_TYPE_ID` Bitrix24 uses for the type.
    pub fn user_type_id(self) -> &'static str {
        match self {
            UserFieldType::String => "string",
            UserFieldType::Url => "url",
            UserFieldType::Money => "money",
            UserFieldType::Double => "double",
            UserFieldType::Integer => "integer",
            UserFieldType::Boolean => "boolean",
            UserFieldType::Date => "date",
            UserFieldType::DateTime => "datetime",
            UserFieldType::Enumeration => "enumeration",
            UserFieldType::File => "file",
            UserFieldType::Employee => "employee",
        }
    }
}

/// One item of an enumeration user field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumItem {
    /// The item id the deal stores.
    pub id: u64,
    /// The label staff see.
    pub value: String,
    /// The sort order.
    pub sort: i64,
    /// Whether the item is the default value.
    pub default: bool,
    /// The item's external id.
    pub xml_id: String,
}

/// A deal user field definition.
#[derive(Clone, Debug)]
pub(crate) struct UserField {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) kind: UserFieldType,
    pub(crate) multiple: bool,
    pub(crate) mandatory: bool,
    pub(crate) label: String,
    pub(crate) sort: i64,
    pub(crate) items: Vec<EnumItem>,
}

impl UserField {
    /// Returns the `crm.item.*` name: `UF_CRM_1708511654449` becomes `ufCrm_1708511654449`.
    pub(crate) fn camel_name(&self) -> String {
        camel_uf_name(&self.name)
    }
}

/// Converts a user-field name to the universal API's spelling.
///
/// The portal lower-cases the name and then capitalises each letter that
/// follows an underscore, removing that underscore; an underscore before a
/// digit stays (`UF_CRM_7_1739432938` becomes `ufCrm_7_1739432938`).
pub(crate) fn camel_uf_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let mut out = String::with_capacity(lower.len());
    let mut chars = lower.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '_'
            && let Some(next) = chars.peek().copied()
            && next.is_ascii_lowercase()
        {
            out.push(next.to_ascii_uppercase());
            chars.next();
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uf_names_keep_underscore_before_digits() {
        assert_eq!(camel_uf_name("UF_CRM_1708511654449"), "ufCrm_1708511654449");
        assert_eq!(camel_uf_name("UF_CRM_7_1739432938"), "ufCrm_7_1739432938");
        assert_eq!(camel_uf_name("UF_CRM_HELLO_WORLD"), "ufCrmHelloWorld");
    }
}
