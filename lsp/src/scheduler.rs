//! Publishing diagnostics: one task analyses the documents that changed, newest text only,
//! and publishes each document's diagnostics with the version they describe.
//!
//! Changes are applied to the documents as they arrive (see [`crate::documents`]); this task
//! only learns which documents are dirty. When edits come faster than checking, the edits
//! queued meanwhile are folded into one analysis of the newest text, so the last diagnostics
//! published always match the last version.

use crate::diagnostics::to_lsp;
use crate::guard::guarded;
use crate::state::State;
use std::sync::Arc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tower_lsp_server::ls_types::{Diagnostic, DiagnosticSeverity, Position, Range, Uri};
use tower_lsp_server::Client;

/// Starts the publishing task; send it the URI of every document that changed.
pub fn start(state: Arc<State>, client: Client) -> UnboundedSender<Uri> {
    let (dirty, mut queue) = unbounded_channel::<Uri>();
    tokio::spawn(async move {
        while let Some(first) = queue.recv().await {
            let mut pending = vec![first];
            while let Ok(uri) = queue.try_recv() {
                if !pending.contains(&uri) {
                    pending.push(uri);
                }
            }
            for uri in pending {
                publish(&state, &client, uri).await;
            }
        }
    });
    dirty
}

async fn publish(state: &State, client: &Client, uri: Uri) {
    let Some(analysis) = state.analysis(&uri).await else {
        // Still open means checking failed; say so rather than leave stale diagnostics.
        if let Some(version) = state.documents.version(&uri) {
            let failure = Diagnostic {
                range: Range::new(Position::new(0, 0), Position::new(0, 0)),
                severity: Some(DiagnosticSeverity::ERROR),
                source: Some("wfc".to_string()),
                message: "wfc-lsp could not check this file (an internal error; the server's log has the details)".to_string(),
                ..Diagnostic::default()
            };
            client
                .publish_diagnostics(uri, vec![failure], Some(version))
                .await;
        }
        return;
    };
    if !state.documents.claim_publication(&analysis) {
        return;
    }
    let diagnostics = guarded("diagnostics", || to_lsp(&analysis)).unwrap_or_default();
    client
        .publish_diagnostics(uri, diagnostics, Some(analysis.version))
        .await;
}
