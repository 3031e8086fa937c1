//! The document's outline: imports, agent profiles and workflows, with each workflow's
//! parameters, defaults, tasks, gates and uses inside it.

use crate::analysis::Analysis;
use tower_lsp_server::ls_types::{DocumentSymbol, SymbolKind};
use wfc::span::Span;
use wfc::syntax::ast::{Item, Member, TypeExpr};

/// The outline of the analysed text, from its syntax tree (which holds everything that
/// parsed, also in a file with mistakes).
pub fn document_symbols(analysis: &Analysis) -> Vec<DocumentSymbol> {
    let outline = Outline { analysis };
    analysis
        .module()
        .parsed
        .file
        .items
        .iter()
        .filter_map(|item| outline.item(item))
        .collect()
}

struct Outline<'a> {
    analysis: &'a Analysis,
}

impl Outline<'_> {
    fn item(&self, item: &Item) -> Option<DocumentSymbol> {
        match item {
            Item::Import(import) => Some(self.symbol(
                &import.alias.text,
                Some(self.source(import.path.span)),
                SymbolKind::MODULE,
                import.span,
                import.alias.span,
                None,
            )),
            Item::Agent(agent) => Some(self.symbol(
                &agent.name.text,
                Some("agent".to_string()),
                SymbolKind::CLASS,
                agent.span,
                agent.name.span,
                None,
            )),
            Item::Workflow(workflow) => {
                let children = workflow
                    .members
                    .iter()
                    .filter_map(|member| self.member(member))
                    .collect();
                Some(self.symbol(
                    &workflow.name.text,
                    Some("workflow".to_string()),
                    SymbolKind::FUNCTION,
                    workflow.span,
                    workflow.name.span,
                    Some(children),
                ))
            }
            Item::Broken(_) => None,
        }
    }

    fn member(&self, member: &Member) -> Option<DocumentSymbol> {
        let (name, detail, kind, span, name_span) = match member {
            Member::Param(param) => (
                &param.name.text[..],
                self.type_text(&param.ty),
                SymbolKind::VARIABLE,
                param.span,
                param.name.span,
            ),
            Member::Defaults(defaults) => (
                "defaults",
                String::new(),
                SymbolKind::PROPERTY,
                defaults.span,
                defaults.keyword,
            ),
            Member::Task(task) => (
                &task.name.text[..],
                "task".to_string(),
                SymbolKind::METHOD,
                task.span,
                task.name.span,
            ),
            Member::Gate(gate) => (
                &gate.name.text[..],
                "gate".to_string(),
                SymbolKind::EVENT,
                gate.span,
                gate.name.span,
            ),
            Member::Use(use_decl) => (
                &use_decl.alias.text[..],
                format!("use {}.{}", use_decl.module.text, use_decl.workflow.text),
                SymbolKind::MODULE,
                use_decl.span,
                use_decl.alias.span,
            ),
            Member::Repeat(repeat) => {
                let children = repeat
                    .members
                    .iter()
                    .filter_map(|member| self.member(member))
                    .collect();
                return Some(self.symbol(
                    &repeat.name.text,
                    Some(match &repeat.max {
                        Some(max) => format!("repeat, at most {} rounds", self.source(max.span)),
                        None => "repeat".to_string(),
                    }),
                    SymbolKind::NAMESPACE,
                    repeat.span,
                    repeat.name.span,
                    Some(children),
                ));
            }
            Member::Broken(_) => return None,
        };
        let detail = (!detail.is_empty()).then_some(detail);
        Some(self.symbol(name, detail, kind, span, name_span, None))
    }

    fn type_text(&self, ty: &TypeExpr) -> String {
        self.source(ty.span)
    }

    fn source(&self, span: Span) -> String {
        self.analysis
            .text()
            .get(span.start..span.end)
            .unwrap_or_default()
            .to_string()
    }

    fn symbol(
        &self,
        name: &str,
        detail: Option<String>,
        kind: SymbolKind,
        span: Span,
        name_span: Span,
        children: Option<Vec<DocumentSymbol>>,
    ) -> DocumentSymbol {
        let text = self.analysis.text();
        let lines = &self.analysis.lines;
        // The deprecated field has to be named to build the struct; it is left empty, as
        // the protocol asks, in favour of `tags`.
        #[allow(deprecated)]
        DocumentSymbol {
            name: name.to_string(),
            detail,
            kind,
            tags: None,
            deprecated: None,
            range: lines.range(text, span.to(name_span)),
            selection_range: lines.range(text, name_span),
            children,
        }
    }
}
