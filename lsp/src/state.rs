//! What every handler shares: the open documents, where modules live, and the one way to get
//! a document's current analysis.

use crate::analysis::Analysis;
use crate::documents::{Analyses, Documents};
use crate::module_uri::ModuleUris;
use std::sync::Arc;
use tower_lsp_server::ls_types::Uri;

/// The server's shared state.
#[derive(Debug)]
pub struct State {
    /// The open documents and their analyses.
    pub documents: Documents,
    /// Where modules are, as URIs.
    pub uris: ModuleUris,
}

impl State {
    /// A server with no open document.
    pub fn new(uris: ModuleUris) -> Self {
        State {
            documents: Documents::default(),
            uris,
        }
    }

    /// The analysis of the document's current text, computed now if the document changed
    /// since the last one. `None` if the document is not open, or if checking it panicked
    /// (which is reported on the server's standard error).
    pub async fn analysis(&self, uri: &Uri) -> Option<Arc<Analysis>> {
        if let Some(current) = self.documents.current(uri) {
            return Some(current);
        }
        let snapshot = self.documents.snapshot(uri)?;
        // Checking a large file takes milliseconds of CPU; it runs on the blocking pool so
        // the message loop keeps reading, and a panic in it ends only that task.
        let analysis = tokio::task::spawn_blocking(move || Analysis::run(snapshot))
            .await
            .ok()?;
        let analysis = Arc::new(analysis);
        self.documents.store(&analysis);
        Some(analysis)
    }

    /// The analyses a request on the document reads.
    pub async fn analyses(&self, uri: &Uri) -> Option<Analyses> {
        let current = self.analysis(uri).await?;
        Some(self.documents.analyses(current))
    }
}
