use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::*;
use crate::field::FieldKind;
use crate::ids::{CategoryId, StageId};
use crate::invoice::InvoiceStatus;
use crate::money::Money;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_750_000_000 + seconds).unwrap()
}

fn deal(id: u64, category: u64, modified: Option<i64>) -> Deal {
    Deal {
        id: DealId(id),
        title: format!("Сделка {id}"),
        category_id: CategoryId(category),
        stage_id: StageId::from("NEW"),
        contact_id: None,
        modified_at: modified.map(at),
        fields: BTreeMap::new(),
    }
}

fn invoice(number: u64, deal: u64, updated: Option<i64>) -> Invoice {
    Invoice {
        id: InvoiceId::smart(number),
        deal_id: Some(DealId(deal)),
        contact_id: None,
        title: String::new(),
        account_number: None,
        amount: Money::rub(Decimal::from(10)),
        status: InvoiceStatus::Smart {
            stage_id: "DT31_1:N".into(),
            semantics: None,
        },
        paid_at: None,
        updated_at: updated.map(at),
    }
}

#[tokio::test]
async fn list_deals_pages_by_id_with_filters() {
    let crm = FakeCrm::new();
    crm.set_page_size(2);
    for id in 1..=5 {
        crm.put_deal(deal(id, if id == 3 { 1 } else { 7 }, Some(id as i64 * 10)));
    }
    let filter = DealFilter {
        modified_since: Some(at(20)),
        category: Some(CategoryId(7)),
    };

    let first = crm.list_deals(&filter, None).await.unwrap();
    let second = crm.list_deals(&filter, first.next_after).await.unwrap();

    let ids = |page: &DealPage| page.deals.iter().map(|d| d.id.get()).collect::<Vec<_>>();
    assert_eq!(ids(&first), [2, 4]);
    assert_eq!(first.next_after, Some(DealId(4)));
    assert_eq!(ids(&second), [5]);
    assert_eq!(second.next_after, None);
}

#[tokio::test]
async fn reads_return_stored_data() {
    let crm = FakeCrm::new();
    crm.put_deal(deal(1, 7, None));
    crm.put_deal(deal(2, 7, None));
    crm.put_invoice(invoice(1, 1, Some(5)));
    crm.put_invoice(invoice(2, 2, None));
    crm.set_deal_fields(vec![FieldMeta {
        code: FieldCode::from("UF_CRM_1"),
        kind: FieldKind::String,
        type_name: "string".into(),
        multiple: false,
        items: Vec::new(),
        label: None,
    }]);

    assert_eq!(
        crm.deal(DealId(1)).await.unwrap().map(|d| d.id),
        Some(DealId(1))
    );
    assert!(crm.deal(DealId(9)).await.unwrap().is_none());
    assert_eq!(crm.deals(&[DealId(2), DealId(9)]).await.unwrap().len(), 1);
    assert_eq!(crm.invoices_of(DealId(1), None).await.unwrap().len(), 1);
    assert_eq!(
        crm.invoice(InvoiceId::smart(2))
            .await
            .unwrap()
            .map(|i| i.id.number),
        Some(2)
    );
    let changed = crm.list_invoices(Some(at(0)), None).await.unwrap();
    assert_eq!(changed.invoices.len(), 1);
    assert_eq!(crm.deal_fields().await.unwrap().len(), 1);
    assert_eq!(crm.calls()[..2], ["deal", "deal"]);
}

#[tokio::test]
async fn writes_change_the_deal_and_are_recorded() {
    let fields = FieldsConfig {
        referral_code: Some(FieldCode::from("UF_CRM_REF")),
        ..FieldsConfig::default()
    };
    let crm = FakeCrm::with_fields(fields.clone());
    crm.put_deal(deal(1, 7, None));

    crm.write_credentials(
        DealId(1),
        &Login::new("lkab"),
        &Password::new("Pw3xxxxxx".into()),
    )
    .await
    .unwrap();
    crm.write_last_login(DealId(1), at(9)).await.unwrap();
    crm.write_referral_code(DealId(1), &ReferralCode("R2D2".into()))
        .await
        .unwrap();
    crm.attach_document(DealId(1), &FieldCode::from("UF_CRM_DOC"), "a.pdf", b"%PDF")
        .await
        .unwrap();
    crm.attach_document(DealId(1), &FieldCode::from("UF_CRM_DOC"), "b.pdf", b"%PDF")
        .await
        .unwrap();

    let stored = crm.stored_deal(DealId(1)).unwrap();
    assert_eq!(
        stored.field(&fields.login),
        &FieldValue::Text("lkab".into())
    );
    assert_eq!(
        stored.field(&fields.password),
        &FieldValue::Text("Pw3xxxxxx".into())
    );
    assert_eq!(
        stored.field(&fields.last_login),
        &FieldValue::DateTime(at(9))
    );
    assert_eq!(
        stored.field(&FieldCode::from("UF_CRM_REF")),
        &FieldValue::Text("R2D2".into())
    );
    match stored.field(&FieldCode::from("UF_CRM_DOC")) {
        FieldValue::Files(files) => assert_eq!(files.len(), 2, "the first file is kept"),
        other => panic!("unexpected value {other:?}"),
    }
    assert!(stored.modified_at.is_some());

    let writes = crm.writes();
    assert_eq!(writes.len(), 5);
    assert_eq!(
        writes[0],
        CrmWrite::Credentials {
            deal: DealId(1),
            login: Login::new("lkab"),
            password: "Pw3xxxxxx".into()
        }
    );
    assert!(!format!("{writes:?}").contains("Pw3xxxxxx"));
}

#[tokio::test]
async fn write_to_missing_deal_is_rejected() {
    let crm = FakeCrm::new();

    let result = crm.write_last_login(DealId(404), at(0)).await;

    assert!(matches!(result, Err(Error::CrmRejected { .. })));
    assert!(crm.writes().is_empty());
}

#[tokio::test]
async fn injected_failures_run_out() {
    let crm = FakeCrm::new();
    crm.put_deal(deal(1, 7, None));
    crm.fail_next(2, CrmFailure::Unavailable);

    let first = crm.deal(DealId(1)).await;
    let second = crm.write_last_login(DealId(1), at(0)).await;
    let third = crm.deal(DealId(1)).await;

    assert!(matches!(first, Err(Error::CrmUnavailable { .. })));
    assert!(second.as_ref().is_err_and(Error::is_transient));
    assert!(third.unwrap().is_some());
    assert!(crm.writes().is_empty());
    assert_eq!(crm.calls(), ["deal", "write_last_login", "deal"]);
}

#[tokio::test]
async fn rejected_failure_is_permanent() {
    let crm = FakeCrm::new();
    crm.fail_next(1, CrmFailure::Rejected);

    let result = crm.pipelines().await;

    assert!(matches!(&result, Err(Error::CrmRejected { .. })));
    assert!(!result.unwrap_err().is_transient());
}

#[test]
fn edit_deal_moves_modified_time() {
    let crm = FakeCrm::new();
    crm.put_deal(deal(1, 7, Some(0)));

    let edited = crm.edit_deal(DealId(1), |deal| deal.stage_id = StageId::from("C7:WON"));
    let missing = crm.edit_deal(DealId(2), |_| {});

    let stored = crm.stored_deal(DealId(1)).unwrap();
    assert!(edited);
    assert!(!missing);
    assert_eq!(stored.stage_id, StageId::from("C7:WON"));
    assert!(stored.modified_at > Some(at(0)));
}
