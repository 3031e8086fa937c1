//! The language server: the LSP methods it answers, each handed to the module that knows
//! the answer. Only this layer and the feature modules know LSP types; the compiler works in
//! byte offsets and knows nothing of editors.

use crate::documents::Analyses;
use crate::guard::guarded;
use crate::state::State;
use crate::{completion, definition, formatting, hover, rename, scheduler, symbols};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService};
use wfc::check::ModuleKey;

/// The environment variable that turns on the `wfc/panic` request, which panics inside a
/// handler so tests can check that the server survives it.
pub const TEST_HOOKS: &str = "WFC_LSP_TEST_HOOKS";

/// The `.wf` language server.
pub struct Backend {
    client: Client,
    state: Arc<State>,
    dirty: UnboundedSender<Uri>,
}

/// The service that answers LSP messages.
pub fn service(state: State) -> (LspService<Backend>, tower_lsp_server::ClientSocket) {
    let state = Arc::new(state);
    let builder = LspService::build(|client| Backend {
        dirty: scheduler::start(state.clone(), client.clone()),
        client,
        state,
    });
    let builder = match std::env::var_os(TEST_HOOKS) {
        Some(_) => builder.custom_method("wfc/panic", Backend::panic_on_request),
        None => builder,
    };
    builder.finish()
}

impl Backend {
    /// Panics inside the guard every handler uses; enabled only by [`TEST_HOOKS`]. Given
    /// `{"slice": TEXT}`, it panics the way a handler that misreads a document would: by
    /// slicing `TEXT` inside its first character, whose standard message quotes `TEXT`.
    async fn panic_on_request(&self, params: Value) -> Result<Value> {
        guarded("wfc/panic", || -> Value {
            match params.get("slice").and_then(Value::as_str) {
                Some(text) => Value::from(&text[1..]),
                None => panic!("the test hook asked for a panic"),
            }
        })
    }

    /// Queues `uri` and every open document that imports its module for publishing.
    fn schedule(&self, uri: Uri, key: Option<ModuleKey>) {
        let importers = key
            .map(|key| self.state.documents.invalidate_importers(&key))
            .unwrap_or_default();
        for uri in std::iter::once(uri).chain(importers) {
            // The publishing task lives as long as the server; if it has stopped, there is
            // nobody left to tell.
            let _ = self.dirty.send(uri);
        }
    }

    /// Answers a request about `position` in `uri` from the document's analyses, guarded.
    async fn at_position<T>(
        &self,
        request: &str,
        uri: &Uri,
        position: Position,
        answer: impl FnOnce(&Analyses, usize) -> T,
    ) -> Result<Option<T>> {
        let Some(analyses) = self.state.analyses(uri).await else {
            return Ok(None);
        };
        guarded(request, || {
            let current = &analyses.current;
            let offset = current.lines.offset(current.text(), position);
            Some(answer(&analyses, offset))
        })
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, _: InitializeParams) -> Result<InitializeResult> {
        Ok(InitializeResult {
            server_info: Some(ServerInfo {
                name: "wfc-lsp".to_string(),
                version: Some(env!("CARGO_PKG_VERSION").to_string()),
            }),
            capabilities: ServerCapabilities {
                position_encoding: Some(PositionEncodingKind::UTF16),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        ..TextDocumentSyncOptions::default()
                    },
                )),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                document_symbol_provider: Some(OneOf::Left(true)),
                document_formatting_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Right(RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                })),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(
                        [".", "|", "{", "\"", "/", " ", ","]
                            .map(str::to_string)
                            .to_vec(),
                    ),
                    ..CompletionOptions::default()
                }),
                ..ServerCapabilities::default()
            },
            ..InitializeResult::default()
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        self.client
            .log_message(MessageType::INFO, "wfc-lsp is ready")
            .await;
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let document = params.text_document;
        let key = self.state.uris.key_of(&document.uri);
        self.state.documents.open(
            document.uri.clone(),
            key.clone(),
            document.text,
            document.version,
        );
        self.schedule(document.uri, Some(key));
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        // The edits are applied here, before this handler awaits anything, so changes land
        // in the order the editor sent them however many messages are in flight.
        let document = params.text_document;
        let key =
            self.state
                .documents
                .change(&document.uri, document.version, params.content_changes);
        if key.is_some() {
            self.schedule(document.uri, key);
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        if let Some(key) = self.state.documents.close(&uri) {
            for importer in self.state.documents.invalidate_importers(&key) {
                let _ = self.dirty.send(importer);
            }
        }
        self.client.publish_diagnostics(uri, Vec::new(), None).await;
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let at = params.text_document_position_params;
        let found = self
            .at_position("hover", &at.text_document.uri, at.position, hover::hover)
            .await?;
        Ok(found.flatten())
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let at = params.text_document_position_params;
        let uris = self.state.uris.clone();
        let found = self
            .at_position(
                "definition",
                &at.text_document.uri,
                at.position,
                |a, offset| definition::definition(a, &uris, offset),
            )
            .await?;
        Ok(found.flatten().map(GotoDefinitionResponse::Scalar))
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let at = params.text_document_position;
        let with_declaration = params.context.include_declaration;
        let open = self.state.documents.all_analyses();
        let uris = self.state.uris.clone();
        let found = self
            .at_position(
                "references",
                &at.text_document.uri,
                at.position,
                |a, offset| definition::references(a, &open, &uris, offset, with_declaration),
            )
            .await?;
        Ok(found.filter(|locations| !locations.is_empty()))
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let at = params.text_document_position;
        let folder = at
            .text_document
            .uri
            .to_file_path()
            .and_then(|path| path.parent().map(|p| p.to_path_buf()));
        let found = self
            .at_position(
                "completion",
                &at.text_document.uri,
                at.position,
                |a, offset| completion::completion(a, offset, folder.as_deref()),
            )
            .await?;
        Ok(found.map(CompletionResponse::Array))
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let Some(analysis) = self.state.analysis(&params.text_document.uri).await else {
            return Ok(None);
        };
        let symbols = guarded("documentSymbol", || symbols::document_symbols(&analysis))?;
        Ok(Some(DocumentSymbolResponse::Nested(symbols)))
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let Some((text, lines)) = self.state.documents.text(&params.text_document.uri) else {
            return Ok(None);
        };
        guarded("formatting", || formatting::format(&text, &lines))
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        let prepared = self
            .at_position(
                "prepareRename",
                &params.text_document.uri,
                params.position,
                rename::prepare,
            )
            .await?;
        match prepared {
            None | Some(Ok(None)) => Ok(None),
            Some(Ok(Some(range))) => Ok(Some(PrepareRenameResponse::Range(range))),
            Some(Err(why)) => Err(refused(why)),
        }
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let at = params.text_document_position;
        let open = self.state.documents.all_analyses();
        let uris = self.state.uris.clone();
        let new_name = params.new_name;
        let renamed = self
            .at_position("rename", &at.text_document.uri, at.position, |a, offset| {
                rename::rename(a, &open, &uris, offset, &new_name)
            })
            .await?;
        match renamed {
            None | Some(Ok(None)) => Ok(None),
            Some(Ok(Some(edit))) => Ok(Some(edit)),
            Some(Err(why)) => Err(refused(why)),
        }
    }
}

/// LSP's `RequestFailed`: the request was valid, and the answer is a refusal whose message
/// the editor shows, such as why a name cannot be renamed.
fn refused(why: String) -> Error {
    Error {
        code: tower_lsp_server::jsonrpc::ErrorCode::ServerError(-32803),
        message: why.into(),
        data: None,
    }
}
