//! Funding Circle investor API v2 client. (Stub: being implemented.)
#![allow(missing_docs)]
use crate::opportunity::PlatformId;
use crate::secret::Secret;
use std::num::NonZeroU32;
use std::time::Duration;
pub struct FundingCircleSettings {
    pub id: PlatformId,
    pub base_url: String,
    pub username: Secret,
    pub password: Secret,
    pub max_posts_per_second: NonZeroU32,
    pub max_gets_per_second: NonZeroU32,
    pub request_timeout: Duration,
}
pub struct FundingCircleClient;
impl FundingCircleClient {
    pub fn new(
        s: FundingCircleSettings,
        m: std::sync::Arc<crate::telemetry::Metrics>,
    ) -> Result<Self, super::PlatformError> {
        let _ = (s, m);
        todo!()
    }
}
#[async_trait::async_trait]
impl super::PlatformClient for FundingCircleClient {
    fn id(&self) -> &PlatformId {
        todo!()
    }
    fn kind(&self) -> crate::opportunity::PlatformKind {
        todo!()
    }
    async fn poll(&self) -> Result<Vec<crate::opportunity::Opportunity>, super::PlatformError> {
        todo!()
    }
    async fn place_order(
        &self,
        _o: &super::ApprovedOrder,
    ) -> Result<crate::order::PlatformOrder, super::PlatformError> {
        todo!()
    }
    async fn find_orders(
        &self,
        _i: &crate::order::OrderIntent,
    ) -> Result<Vec<crate::order::PlatformOrder>, super::PlatformError> {
        todo!()
    }
    async fn available_cash(&self) -> Result<Option<rust_decimal::Decimal>, super::PlatformError> {
        todo!()
    }
}
