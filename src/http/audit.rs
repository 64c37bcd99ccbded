//! The audit log of protected calls (SPEC §12): one line per call that presented, or needed,
//! a credential, with the route, the status, the request id and the credential's fingerprint,
//! never the credential. The gates record what they saw in the request's extensions; the
//! request span writes the line once the response is known.

use actix_web::dev::ServiceResponse;
use actix_web::{HttpMessage, HttpRequest};

use crate::access::fingerprint;

/// What a gate saw of a request's credential.
#[derive(Clone)]
pub struct Audited {
    credential: &'static str,
    /// `None` when none was presented.
    fingerprint: Option<String>,
    accepted: bool,
}

impl Audited {
    /// Marks `req` as a protected call, with the `presented` credential of kind `credential`.
    pub fn record(
        req: &HttpRequest,
        credential: &'static str,
        presented: Option<&str>,
        accepted: bool,
    ) {
        req.extensions_mut().insert(Self {
            credential,
            fingerprint: presented.map(|secret| fingerprint(secret.as_bytes())),
            accepted,
        });
    }
}

/// Writes the audit line of `res`'s request, if a gate marked it.
pub fn log_if_protected<B>(res: &ServiceResponse<B>, request_id: &str) {
    let req = res.request();
    let Some(audited) = req.extensions().get::<Audited>().cloned() else {
        return;
    };
    tracing::info!(
        target: "audit",
        request_id,
        method = %req.method(),
        route = req.match_pattern().as_deref().unwrap_or(req.path()),
        status = res.status().as_u16(),
        credential = audited.credential,
        key_fingerprint = audited.fingerprint.as_deref().unwrap_or("none"),
        accepted = audited.accepted,
        "protected call"
    );
}
