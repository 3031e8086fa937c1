//! How a request reads an analysis that may be of an older text than the editor's: offsets
//! are carried into it and its answers carried back, or dropped where the text changed.

use crate::analysis::Analysis;
use crate::documents::Analyses;
use crate::module_uri::ModuleUris;
use crate::position::LineMap;
use crate::text_diff::TextDiff;
use tower_lsp_server::ls_types::{Location, Range};
use wfc::check::ModuleKey;
use wfc::span::Span;

/// One analysis as seen from the document's current text.
pub struct View<'a> {
    /// The analysis.
    pub analysis: &'a Analysis,
    /// The analysis of the current text.
    pub current: &'a Analysis,
    /// How the current text differs from the analysed one; `None` when they are the same.
    diff: Option<TextDiff>,
}

impl Analyses {
    /// The current analysis first, then the last one that parsed cleanly.
    fn views(&self) -> Vec<View<'_>> {
        let mut views = vec![View {
            analysis: &self.current,
            current: &self.current,
            diff: None,
        }];
        if let Some(good) = &self.last_good {
            views.push(View {
                analysis: good,
                current: &self.current,
                diff: Some(TextDiff::new(good.text(), self.current.text())),
            });
        }
        views
    }

    /// The analyses themselves, current first, for answers that read no offsets and so need
    /// no diff between the texts (which [`Analyses::first`] computes).
    pub fn all(&self) -> impl DoubleEndedIterator<Item = &Analysis> {
        std::iter::once(&*self.current).chain(self.last_good.as_deref())
    }

    /// The first answer `ask` gives, asked of each view in turn with the offset carried into
    /// its text.
    pub fn first<T>(
        &self,
        offset: usize,
        ask: impl Fn(&View<'_>, usize) -> Option<T>,
    ) -> Option<T> {
        self.views()
            .iter()
            .find_map(|view| ask(view, view.offset(offset)?))
    }
}

impl View<'_> {
    /// The analysed text's offset for an offset of the current text.
    pub fn offset(&self, current: usize) -> Option<usize> {
        match &self.diff {
            None => Some(current),
            Some(diff) => diff.old_offset(current),
        }
    }

    /// The current text's span for a span of the analysed document.
    pub fn current_span(&self, span: Span) -> Option<Span> {
        match &self.diff {
            None => Some(span),
            Some(diff) => diff.new_span(span),
        }
    }

    /// The current text's range for a span of the analysed document.
    pub fn current_range(&self, span: Span) -> Option<Range> {
        let span = self.current_span(span)?;
        Some(self.current.lines.range(self.current.text(), span))
    }

    /// Where `span` of the module `key` (one this analysis checked) is, for the editor.
    pub fn location(&self, uris: &ModuleUris, key: &ModuleKey, span: Span) -> Option<Location> {
        if key == self.analysis.key() {
            let range = self.current_range(span)?;
            return Some(Location::new(self.current.uri.clone(), range));
        }
        let module = &self.analysis.modules[self.analysis.find(key)?];
        let range = LineMap::new(&module.text).range(&module.text, span);
        Some(Location::new(uris.uri_of(key)?, range))
    }
}
