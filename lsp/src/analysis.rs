//! One analysis of one document: the checker's result for the document's text at one
//! version, the modules it imports, and a symbol index of each.

use crate::index::Index;
use crate::overlay::Overlay;
use crate::position::LineMap;
use std::sync::Arc;
use tower_lsp_server::ls_types::Uri;
use wfc::check::{CheckedModule, ModuleKey, Session};

/// What an analysis starts from: a document's text at one version, and the text of every
/// other open document, which imports read instead of the files on disk.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The document.
    pub uri: Uri,
    /// The module the document is checked as.
    pub key: ModuleKey,
    /// Its text.
    pub text: Arc<String>,
    /// The line table of that text, which the document keeps up to date anyway.
    pub lines: Arc<LineMap>,
    /// The editor's version of that text.
    pub version: i32,
    /// The server's count of changes to the document or what it imports.
    pub generation: u64,
    /// The other open documents.
    pub overlay: Overlay,
}

/// The checker's view of a document at one version.
#[derive(Debug)]
pub struct Analysis {
    /// The document.
    pub uri: Uri,
    /// The editor's version of the text analysed.
    pub version: i32,
    /// The generation analysed; an analysis is current while the document has not moved on.
    pub generation: u64,
    /// Every module checked: the document's own and what it imports, transitively.
    pub modules: Vec<CheckedModule>,
    /// The symbol index of each module, in the same order.
    pub indexes: Vec<Index>,
    /// Which of the modules is the document's.
    pub main: usize,
    /// The line table of the document's text.
    pub lines: Arc<LineMap>,
}

impl Analysis {
    /// Parses, checks and indexes the snapshot's text.
    pub fn run(snapshot: Snapshot) -> Analysis {
        let mut session = Session::new(&snapshot.overlay);
        let main = session
            .check_text(snapshot.key.clone(), snapshot.text.as_str().to_owned())
            .0 as usize;
        let modules = session.into_modules();
        let indexes = (0..modules.len())
            .map(|id| Index::build(id, &modules))
            .collect();
        Analysis {
            uri: snapshot.uri,
            version: snapshot.version,
            generation: snapshot.generation,
            lines: snapshot.lines,
            modules,
            indexes,
            main,
        }
    }

    /// The document's own checked module.
    pub fn module(&self) -> &CheckedModule {
        &self.modules[self.main]
    }

    /// The document's text as analysed.
    pub fn text(&self) -> &str {
        &self.module().text
    }

    /// The document's symbol index.
    pub fn index(&self) -> &Index {
        &self.indexes[self.main]
    }

    /// The module the document is checked as.
    pub fn key(&self) -> &ModuleKey {
        &self.module().key
    }

    /// Whether the text parsed without a syntax error, which makes this analysis the one
    /// to fall back on while later versions are half-typed.
    pub fn parsed_cleanly(&self) -> bool {
        !self.module().parsed.has_errors()
    }

    /// The position of the module called `key` among [`Analysis::modules`].
    pub fn find(&self, key: &ModuleKey) -> Option<usize> {
        self.modules.iter().position(|m| &m.key == key)
    }

    /// Whether the document imports `key`, directly or not.
    pub fn imports(&self, key: &ModuleKey) -> bool {
        self.modules
            .iter()
            .enumerate()
            .any(|(id, m)| id != self.main && &m.key == key)
    }
}
