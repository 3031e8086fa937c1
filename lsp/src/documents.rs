//! The open documents: their text as the editor has it, and their latest analyses.
//!
//! Every change is applied while the store's lock is held, in the order the notifications
//! are handled, before any `.await`: so edits land in order however busy the server is.
//! Analyses are computed outside the lock and stored only if no newer one is there.

use crate::analysis::{Analysis, Snapshot};
use crate::overlay::Overlay;
use crate::position::LineMap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tower_lsp_server::ls_types::{TextDocumentContentChangeEvent, Uri};
use wfc::check::ModuleKey;

/// One open document.
#[derive(Debug)]
struct Document {
    key: ModuleKey,
    text: Arc<String>,
    /// The line table of `text`, shared with the analyses and requests that read it.
    lines: Arc<LineMap>,
    version: i32,
    /// Raised by every change of the text, and when a module it imports changes.
    generation: u64,
    /// The newest analysis, which may be of an older generation.
    analysis: Option<Arc<Analysis>>,
    /// The newest analysis of a text that parsed cleanly.
    last_good: Option<Arc<Analysis>>,
    /// The generation whose diagnostics were published last.
    published: u64,
}

#[derive(Debug, Default)]
struct State {
    documents: HashMap<Uri, Document>,
    generations: u64,
}

impl State {
    fn next_generation(&mut self) -> u64 {
        self.generations += 1;
        self.generations
    }
}

/// The open documents, shared by every handler.
#[derive(Debug, Default)]
pub struct Documents {
    state: Mutex<State>,
}

/// The analyses a request reads: the current one and, if the current text does not parse,
/// the last one that did.
#[derive(Clone, Debug)]
pub struct Analyses {
    /// The analysis of the document's current text.
    pub current: Arc<Analysis>,
    /// The last analysis of a text that parsed cleanly, if it is not the current one.
    pub last_good: Option<Arc<Analysis>>,
}

impl Documents {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held cannot leave a document half-changed (changes are
        // computed before they are stored), so a poisoned lock is still safe to use.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts tracking a document the editor opened.
    pub fn open(&self, uri: Uri, key: ModuleKey, text: String, version: i32) {
        let mut state = self.lock();
        let generation = state.next_generation();
        state.documents.insert(
            uri,
            Document {
                key,
                lines: Arc::new(LineMap::new(&text)),
                text: Arc::new(text),
                version,
                generation,
                analysis: None,
                last_good: None,
                published: 0,
            },
        );
    }

    /// Applies the editor's changes, in order, and takes the new version. Returns the
    /// document's module, or `None` for a document that is not open.
    pub fn change(
        &self,
        uri: &Uri,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
    ) -> Option<ModuleKey> {
        let mut state = self.lock();
        let generation = state.next_generation();
        let document = state.documents.get_mut(uri)?;
        // The text is copied only if an analysis in flight still reads it; usually nothing
        // else holds it and each keystroke edits it in place.
        let mut text = Arc::unwrap_or_clone(std::mem::take(&mut document.text));
        let mut lines = document.lines.clone();
        for change in changes {
            match change.range {
                Some(range) => {
                    let span = lines.span(&text, range);
                    text.replace_range(span.start..span.end, &change.text);
                }
                None => text = change.text,
            }
            // Each change's range is in the text the previous changes left.
            lines = Arc::new(LineMap::new(&text));
        }
        document.text = Arc::new(text);
        document.lines = lines;
        document.version = version;
        document.generation = generation;
        Some(document.key.clone())
    }

    /// Stops tracking a closed document. Returns its module, if it was open.
    pub fn close(&self, uri: &Uri) -> Option<ModuleKey> {
        self.lock().documents.remove(uri).map(|d| d.key)
    }

    /// Marks every open document that imports `key` as changed, since what it imports did,
    /// and returns them.
    pub fn invalidate_importers(&self, key: &ModuleKey) -> Vec<Uri> {
        let mut state = self.lock();
        let importers: Vec<Uri> = state
            .documents
            .iter()
            .filter(|(_, d)| &d.key != key)
            .filter(|(_, d)| d.analysis.as_ref().is_some_and(|a| a.imports(key)))
            .map(|(uri, _)| uri.clone())
            .collect();
        for uri in &importers {
            let generation = state.next_generation();
            if let Some(document) = state.documents.get_mut(uri) {
                document.generation = generation;
            }
        }
        importers
    }

    /// What an analysis of the document's current text needs.
    pub fn snapshot(&self, uri: &Uri) -> Option<Snapshot> {
        let state = self.lock();
        let document = state.documents.get(uri)?;
        let overlay = state
            .documents
            .iter()
            .filter(|(other, _)| *other != uri)
            .filter_map(|(_, d)| match &d.key {
                ModuleKey::File(path) => Some((path.clone(), d.text.clone())),
                ModuleKey::Std(_) => None,
            })
            .collect();
        Some(Snapshot {
            uri: uri.clone(),
            key: document.key.clone(),
            text: document.text.clone(),
            lines: document.lines.clone(),
            version: document.version,
            generation: document.generation,
            overlay: Overlay::new(overlay),
        })
    }

    /// The editor's version of the document's text, if it is open.
    pub fn version(&self, uri: &Uri) -> Option<i32> {
        self.lock().documents.get(uri).map(|d| d.version)
    }

    /// The document's analysis if it is of its current generation.
    pub fn current(&self, uri: &Uri) -> Option<Arc<Analysis>> {
        let state = self.lock();
        let document = state.documents.get(uri)?;
        document
            .analysis
            .clone()
            .filter(|a| a.generation == document.generation)
    }

    /// Keeps `analysis` as the document's newest unless a newer one is already kept.
    pub fn store(&self, analysis: &Arc<Analysis>) {
        let mut state = self.lock();
        let Some(document) = state.documents.get_mut(&analysis.uri) else {
            return;
        };
        if document
            .analysis
            .as_ref()
            .is_some_and(|kept| kept.generation >= analysis.generation)
        {
            return;
        }
        document.analysis = Some(analysis.clone());
        if analysis.parsed_cleanly() {
            document.last_good = Some(analysis.clone());
        }
    }

    /// The analyses a request on the document reads, given its current analysis.
    pub fn analyses(&self, current: Arc<Analysis>) -> Analyses {
        let state = self.lock();
        let last_good = state
            .documents
            .get(&current.uri)
            .and_then(|d| d.last_good.clone())
            .filter(|good| !Arc::ptr_eq(good, &current) && !current.parsed_cleanly());
        Analyses { current, last_good }
    }

    /// Whether the diagnostics of `analysis` should be published: it is the document's
    /// current generation and nothing as new was published. Records that they will be.
    pub fn claim_publication(&self, analysis: &Analysis) -> bool {
        let mut state = self.lock();
        let Some(document) = state.documents.get_mut(&analysis.uri) else {
            return false;
        };
        if document.generation != analysis.generation || document.published >= analysis.generation {
            return false;
        }
        document.published = analysis.generation;
        true
    }

    /// The newest analysis of every open document, for searches across files.
    pub fn all_analyses(&self) -> Vec<Arc<Analysis>> {
        self.lock()
            .documents
            .values()
            .filter_map(|d| d.analysis.clone())
            .collect()
    }

    /// The text and line table of an open document, for requests that need no analysis.
    pub fn text(&self, uri: &Uri) -> Option<(Arc<String>, Arc<LineMap>)> {
        let state = self.lock();
        let document = state.documents.get(uri)?;
        Some((document.text.clone(), document.lines.clone()))
    }
}
