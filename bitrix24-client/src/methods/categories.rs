//! Pipelines through `crm.category.list`.

use bitrix_lk_core::CategoryId;
use serde::Deserialize;

use crate::client::Client;
use crate::de;
use crate::entity::EntityType;
use crate::error::Result;
use crate::methods::ListRequest;
use crate::paging::Rows;

/// The `crm.category.*` methods; get it with [`Client::categories`].
#[derive(Clone, Copy, Debug)]
pub struct Categories<'a> {
    client: &'a Client,
}

impl<'a> Categories<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Starts a `crm.category.list` request for one entity type.
    pub fn list(&self, entity_type: EntityType) -> ListRequest<'a, Category> {
        ListRequest::new(
            self.client,
            "crm.category.list",
            Rows::Field("categories"),
            "id",
        )
        .param("entityTypeId", entity_type.id())
    }

    /// Reads every pipeline of an entity type, the default one (id 0 for deals) included.
    ///
    /// An entity type without pipelines fails with an [`crate::Error::Api`]
    /// whose code is `NOT_FOUND` (HTTP 400).
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24_client::Client) -> bitrix24_client::Result<()> {
    /// use bitrix24_client::EntityType;
    ///
    /// for pipeline in client.categories().all(EntityType::Deal).await? {
    ///     println!("{} {}", pipeline.id, pipeline.name.unwrap_or_default());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn all(&self, entity_type: EntityType) -> Result<Vec<Category>> {
        self.list(entity_type).all().await
    }
}

/// A pipeline (category) of deals, smart invoices or smart-process items.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Category {
    /// The pipeline id; the default deal pipeline is 0.
    pub id: CategoryId,
    /// The name staff see.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    /// The sort key.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub sort: Option<i64>,
    /// The entity type the pipeline belongs to.
    #[serde(default)]
    pub entity_type_id: Option<EntityType>,
    /// Whether this is the default pipeline.
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub is_default: bool,
}
