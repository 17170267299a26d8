//! The HTTP API (axum): enrolment, the signed sync endpoints, health.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kyc_core::fleet::supervisor::paths as sup;
use kyc_core::fleet::wire::{
    EnrollRequest, ErrorBody, PUSH_CONTENT_TYPE, PUSH_MAGIC, PushRequest, decode_push, paths,
};
use serde::Serialize;

use crate::{Central, CentralError};

/// Largest request body (a push of records with their images).
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// An error answer: status, stable code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Stable code.
    pub code: String,
    /// Explanation.
    pub message: String,
}

impl ApiError {
    fn new(status: u16, code: &str, message: &str) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.to_string(),
        }
    }
    /// 400.
    pub fn bad_request(code: &str, m: &str) -> Self {
        Self::new(400, code, m)
    }
    /// 401.
    pub fn unauthorized(code: &str, m: &str) -> Self {
        Self::new(401, code, m)
    }
    /// 409.
    pub fn conflict(code: &str, m: &str) -> Self {
        Self::new(409, code, m)
    }
    /// 429: too many requests.
    pub fn too_many_requests(code: &str, m: &str) -> Self {
        Self::new(429, code, m)
    }
    /// 409 `quarantined`.
    pub fn quarantined(why: &str) -> Self {
        Self::new(
            409,
            "quarantined",
            &format!("kiosk quarantined ({why}); an administrator must clear it"),
        )
    }
}

impl From<CentralError> for ApiError {
    fn from(e: CentralError) -> Self {
        let (status, code) = match &e {
            CentralError::InvalidInput(_) => (400, "invalid_input"),
            CentralError::WeakPassword(_) => (400, "weak_password"),
            CentralError::Unauthorized(_) => (401, "unauthorized"),
            CentralError::Forbidden(_) => (403, "forbidden"),
            CentralError::NotFound(_) => (404, "not_found"),
            CentralError::Conflict(_) => (409, "conflict"),
            CentralError::Db(_) | CentralError::Setup(_) | CentralError::SchemaTooNew { .. } => {
                (503, "unavailable")
            }
        };
        if status == 503 {
            tracing::warn!(error = %e, "central: request failed");
        }
        ApiError::new(status, code, &e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            axum::Json(ErrorBody {
                error: self.code,
                message: self.message,
            }),
        )
            .into_response()
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("bad_json", &format!("body is not the expected JSON: {e}"))
    })
}

/// A push body: the binary frame (its content type, or its magic bytes) or, from kiosks of
/// earlier versions, JSON with base64 blobs. A body that is neither is refused before anything
/// is stored, so the kiosk keeps its events and sends them again.
fn parse_push(headers: &HeaderMap, body: &[u8]) -> Result<PushRequest, ApiError> {
    let binary = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case(PUSH_CONTENT_TYPE))
        || body.starts_with(PUSH_MAGIC);
    if binary {
        decode_push(body).map_err(|e| ApiError::bad_request("bad_push", &e.to_string()))
    } else {
        parse(body)
    }
}

fn json<T: Serialize>(v: T) -> Response {
    axum::Json(v).into_response()
}

pub(crate) async fn signed_kiosk(
    central: &Central,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, ApiError> {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or(uri.path());
    central
        .authenticate(
            method.as_str(),
            path,
            |h| {
                headers
                    .get(h)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            },
            body,
        )
        .await
}

async fn enroll(State(c): State<Arc<Central>>, body: Bytes) -> Result<Response, ApiError> {
    let req: EnrollRequest = parse(&body)?;
    Ok(json(c.enroll(&req).await?))
}

async fn head(
    State(c): State<Arc<Central>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kiosk = signed_kiosk(&c, &method, &uri, &headers, &body).await?;
    if let Err(e) = c.prune_nonces_if_due().await {
        tracing::warn!(error = %e, "central: nonce pruning failed");
    }
    Ok(json(c.head(&kiosk).await?))
}

async fn push(
    State(c): State<Arc<Central>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kiosk = signed_kiosk(&c, &method, &uri, &headers, &body).await?;
    let req = parse_push(&headers, &body)?;
    Ok(json(c.push(&kiosk, Arc::new(req)).await?))
}

async fn health(State(c): State<Arc<Central>>) -> Result<Response, ApiError> {
    let v = c.schema_version().await?;
    Ok(json(
        serde_json::json!({ "status": "ok", "schemaVersion": v }),
    ))
}

/// The API's routes.
pub fn router(central: Arc<Central>) -> Router {
    Router::new()
        .route(paths::ENROLL, post(enroll))
        .route(paths::HEAD, get(head))
        .route(paths::PUSH, post(push))
        .route(
            kyc_core::fleet::dedup::SEARCH_PATH,
            post(crate::dedup::search_handler),
        )
        .route("/v1/health", get(health))
        .route(sup::WS_ENROLL, post(crate::queue::ws_enroll))
        .route(sup::LOGIN, post(crate::queue::supervisor))
        .route(sup::QUEUE, post(crate::queue::supervisor))
        .route(sup::CASE, post(crate::queue::supervisor))
        .route(sup::DECIDE, post(crate::queue::supervisor))
        .route(sup::INBOX, post(crate::queue::inbox))
        .route(sup::INBOX_ACK, post(crate::queue::inbox_ack))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(central)
}

/// Serve the API on `listener` until `shutdown` completes.
///
/// # Errors
/// `Setup` when serving fails.
pub async fn serve(
    central: Arc<Central>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), CentralError> {
    // The hand-off worker (webhooks, registry checks) runs while the API serves.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(crate::hooks::run_worker(central.clone(), stop_rx));
    let served = axum::serve(listener, router(central))
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await
        .map_err(|e| CentralError::Setup(format!("serving: {e}")));
    let _ = worker.await;
    served
}
