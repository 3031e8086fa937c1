//! The checker: lowers syntax trees into the typed IR and reports every problem it finds,
//! following imports across files and into the stdlib.

mod expr;
mod fields;
mod graph;
mod leading_dash;
mod loader;
mod module;
mod output;
mod repeat;
mod shell;
mod template;
mod work_fields;
mod workflow;

pub use fields::{DEFAULTS_FIELDS, GATE_FIELDS, TASK_FIELDS};
pub use graph::find_cycles;
pub use loader::{normalize, resolve_import, Loader, ModuleKey, NoFiles};
pub use repeat::LARGEST_LOOP_MAX;
pub use workflow::check_relative_path;

use crate::diagnostic::{sort_diagnostics, Code, Diagnostic};
use crate::ir::{self, ModuleId};
use crate::span::Span;
use crate::syntax::{self, Parsed};
use std::collections::HashMap;

/// A module after checking: its text, syntax tree, IR and diagnostics.
#[derive(Debug)]
pub struct CheckedModule {
    /// Which module.
    pub key: ModuleKey,
    /// Its source text.
    pub text: String,
    /// Its syntax tree and comments.
    pub parsed: Parsed,
    /// Its IR; items with errors are left out or hold [`ir::Type::Error`].
    pub ir: ir::Module,
    /// Every diagnostic for this module, in document order.
    pub diagnostics: Vec<Diagnostic>,
    /// Whether checking is still under way (it is while its imports are checked).
    in_progress: bool,
}

impl CheckedModule {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// How many files deep imports may go: the file named on the command line is the first.
/// Checking recurses once per level, and `use` can only name a workflow of an imported
/// module, so this also bounds how deep `use` nests (and so how long task ids grow).
pub const MAX_IMPORT_DEPTH: usize = 64;

/// One checking session: modules are checked once each, however many files import them.
pub struct Session<'l> {
    loader: &'l dyn Loader,
    modules: Vec<CheckedModule>,
    by_key: HashMap<ModuleKey, ModuleId>,
    /// The modules being checked, outermost first, to report import cycles.
    stack: Vec<ModuleId>,
}

impl<'l> Session<'l> {
    /// A session that reads imported files through `loader`.
    pub fn new(loader: &'l dyn Loader) -> Self {
        Session {
            loader,
            modules: Vec::new(),
            by_key: HashMap::new(),
            stack: Vec::new(),
        }
    }

    /// The checked module `id`.
    pub fn module(&self, id: ModuleId) -> &CheckedModule {
        &self.modules[id.0 as usize]
    }

    /// Every module checked so far, in the order they were first reached.
    pub fn modules(&self) -> impl Iterator<Item = (ModuleId, &CheckedModule)> {
        self.modules
            .iter()
            .enumerate()
            .map(|(i, m)| (ModuleId(i as u32), m))
    }

    /// Ends the session and hands over every checked module, indexed by [`ModuleId`], so a
    /// caller such as the language server can keep the results after the loader is gone.
    pub fn into_modules(self) -> Vec<CheckedModule> {
        self.modules
    }

    /// The module with this key, if it was checked.
    pub fn find(&self, key: &ModuleKey) -> Option<ModuleId> {
        self.by_key.get(key).copied()
    }

    /// Checks the module `key`, reading it through the loader (or the stdlib); a module
    /// already checked in this session is not checked again.
    pub fn check(&mut self, key: ModuleKey) -> Result<ModuleId, String> {
        if let Some(id) = self.by_key.get(&key) {
            return Ok(*id);
        }
        let text = self.read(&key)?;
        Ok(self.check_source(key, text))
    }

    /// Checks `key` with the given text (an editor's unsaved buffer, say), replacing any
    /// earlier result for that key in this session.
    pub fn check_text(&mut self, key: ModuleKey, text: String) -> ModuleId {
        self.check_source(key, text)
    }

    fn read(&self, key: &ModuleKey) -> Result<String, String> {
        match key {
            ModuleKey::Std(name) => crate::stdlib::source(name)
                .map(str::to_string)
                .ok_or_else(|| crate::stdlib::no_such_module(name)),
            ModuleKey::File(path) => {
                let bytes = self.loader.load(path)?;
                String::from_utf8(bytes).map_err(|error| {
                    format!(
                        "it is not valid UTF-8 (byte {} starts an invalid sequence)",
                        error.utf8_error().valid_up_to()
                    )
                })
            }
        }
    }

    fn check_source(&mut self, key: ModuleKey, text: String) -> ModuleId {
        let id = ModuleId(self.modules.len() as u32);
        let parsed = syntax::parse(&text);
        self.by_key.insert(key.clone(), id);
        self.modules.push(CheckedModule {
            key: key.clone(),
            text,
            parsed: Parsed {
                file: Default::default(),
                diagnostics: Vec::new(),
                comments: Vec::new(),
            },
            ir: ir::Module {
                imports: Vec::new(),
                agents: Vec::new(),
                workflows: Vec::new(),
            },
            diagnostics: Vec::new(),
            in_progress: true,
        });
        self.stack.push(id);
        let mut diagnostics = parsed.diagnostics.clone();
        let imports = self.check_imports(&key, &parsed, &mut diagnostics);
        let ir = module::check_module(&parsed.file, imports, &self.modules, &mut diagnostics);
        sort_diagnostics(&mut diagnostics);
        diagnostics.dedup();
        let module = &mut self.modules[id.0 as usize];
        module.parsed = parsed;
        module.ir = ir;
        module.diagnostics = diagnostics;
        module.in_progress = false;
        self.stack.pop();
        id
    }

    fn check_imports(
        &mut self,
        from: &ModuleKey,
        parsed: &Parsed,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Vec<ir::Import> {
        let mut imports = Vec::new();
        for item in &parsed.file.items {
            let syntax::ast::Item::Import(import) = item else {
                continue;
            };
            let Some(spec) = import.path.plain_text() else {
                diagnostics.push(Diagnostic::new(
                    Code::Import,
                    "an import path cannot interpolate",
                    import.path.span,
                    "interpolation here",
                ));
                continue;
            };
            let module = self.import_one(from, &spec, import.path.span, diagnostics);
            imports.push(ir::Import {
                alias: import.alias.text.clone(),
                path: spec,
                module,
                span: import.span,
            });
        }
        imports
    }

    fn import_one(
        &mut self,
        from: &ModuleKey,
        spec: &str,
        span: Span,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<ModuleId> {
        let key = match resolve_import(from, spec) {
            Ok(key) => key,
            Err(why) => {
                diagnostics.push(Diagnostic::new(
                    Code::Import,
                    format!("cannot import `{spec}`"),
                    span,
                    why,
                ));
                return None;
            }
        };
        if let Some(&id) = self.by_key.get(&key) {
            let target = &self.modules[id.0 as usize];
            if target.in_progress {
                let start = self.stack.iter().position(|m| *m == id).unwrap_or(0);
                let mut chain: Vec<String> = self.stack[start..]
                    .iter()
                    .map(|m| self.modules[m.0 as usize].key.to_string())
                    .collect();
                chain.push(key.to_string());
                diagnostics.push(
                    Diagnostic::new(
                        Code::Import,
                        format!("imports form a cycle: {}", chain.join(" → ")),
                        span,
                        "this import closes the cycle",
                    )
                    .with_help("move what both files need into a third file that both import"),
                );
                return None;
            }
            return Some(id);
        }
        if self.stack.len() >= MAX_IMPORT_DEPTH {
            let first = self
                .stack
                .first()
                .map(|m| self.modules[m.0 as usize].key.to_string())
                .unwrap_or_default();
            diagnostics.push(
                Diagnostic::new(
                    Code::Import,
                    format!("imports nest more than {MAX_IMPORT_DEPTH} files deep"),
                    span,
                    format!(
                        "this import would be file {} of a chain that starts at {first}",
                        self.stack.len() + 1
                    ),
                )
                .with_help(format!(
                    "a chain of imports is at most {MAX_IMPORT_DEPTH} files long; import what \
                     you need from fewer, flatter files"
                )),
            );
            return None;
        }
        match self.read(&key) {
            Ok(text) => Some(self.check_source(key, text)),
            Err(why) => {
                diagnostics.push(
                    Diagnostic::new(Code::Import, format!("cannot read `{spec}`"), span, why)
                        .with_help(format!("the import resolves to {key}")),
                );
                None
            }
        }
    }
}
