//! What every request handler may use, shared through one `web::Data<AppState>`.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::access::Access;
use crate::config::Settings;
use crate::db::MediaRepo;
use crate::ingest::GroupCommit;
use crate::storage::BlobStore;
use crate::variants::Variants;

pub struct AppState {
    pub settings: Settings,
    /// The records, behind the id → stored name cache.
    pub repo: Arc<dyn MediaRepo>,
    pub blobs: BlobStore,
    /// Records uploads, several to a transaction when they finish together.
    pub recorder: GroupCommit,
    /// One permit per upload allowed to run at once (`MAX_CONCURRENT_UPLOADS`).
    pub upload_slots: Arc<Semaphore>,
    /// Shared with the job worker, so that a variant is made once whoever asks first.
    pub variants: Arc<Variants>,
    /// Tokens, signatures and rate limits (SPEC §12).
    pub access: Access,
}

impl AppState {
    /// The state of the app `req` was routed in, for extractors.
    pub fn of(req: &actix_web::HttpRequest) -> &Self {
        req.app_data::<actix_web::web::Data<Self>>()
            .expect("AppState is registered")
    }

    pub fn new(settings: Settings, repo: Arc<dyn MediaRepo>, blobs: BlobStore) -> Self {
        let upload_slots = Arc::new(Semaphore::new(settings.max_concurrent_uploads));
        let variants = Arc::new(Variants::new(
            blobs.clone(),
            &settings.variants,
            settings.limits.max_image_pixels,
            settings.upload_queue_timeout,
        ));
        let access = Access::new(&settings);
        let writers = GroupCommit::writers_for(&settings.database_url);
        Self {
            access,
            recorder: GroupCommit::spawn(repo.clone(), writers),
            settings,
            repo,
            blobs,
            upload_slots,
            variants,
        }
    }
}
