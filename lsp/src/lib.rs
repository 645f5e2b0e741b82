//! `exc lsp`: the Language Server Protocol over stdio for `.task` and
//! `.exmix` files (rust-analyzer's `lsp-server` for the transport,
//! `lsp-types` for the messages). As a buffer changes, the open buffers are
//! checked as `exc check` checks files, with the same codes, messages, labels
//! and help; go-to-definition, hover and completion read the same
//! compilation.
//!
//! Buffers sync in full (they are small). Messages that arrived together are
//! handled before one check, so a burst of keystrokes costs one check.

mod analysis;
mod complete;
mod navigate;
mod refs;
mod text;

use analysis::{Doc, KnownTasks, Project};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{Completion, GotoDefinition, HoverRequest, Request as _};
use lsp_types::{
    CompletionOptions, CompletionResponse, GotoDefinitionResponse, InitializeParams,
    PositionEncodingKind, PublishDiagnosticsParams, ServerCapabilities, ServerInfo,
    TextDocumentPositionParams, TextDocumentSyncCapability, TextDocumentSyncKind,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use text::Encoding;

/// Serves one editor on stdin/stdout until it says `exit`.
pub fn run_stdio() -> Result<(), String> {
    let (connection, io) = Connection::stdio();
    serve(&connection)?;
    drop(connection);
    io.join().map_err(|e| format!("stdio: {e}"))
}

/// The server on any connection (stdio, or in memory for tests).
pub fn serve(connection: &Connection) -> Result<(), String> {
    let (id, params) = connection.initialize_start().map_err(|e| e.to_string())?;
    let params: InitializeParams =
        serde_json::from_value(params).map_err(|e| format!("initialize: {e}"))?;
    // Byte offsets are what the compiler has; UTF-16 is the protocol's default.
    let offers_utf8 = params
        .capabilities
        .general
        .and_then(|g| g.position_encodings)
        .is_some_and(|e| e.contains(&PositionEncodingKind::UTF8));
    let enc = if offers_utf8 {
        Encoding::Utf8
    } else {
        Encoding::Utf16
    };
    let capabilities = ServerCapabilities {
        position_encoding: Some(if offers_utf8 {
            PositionEncodingKind::UTF8
        } else {
            PositionEncodingKind::UTF16
        }),
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        definition_provider: Some(lsp_types::OneOf::Left(true)),
        hover_provider: Some(lsp_types::HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(["{", "|", ".", " "].map(String::from).to_vec()),
            ..CompletionOptions::default()
        }),
        ..ServerCapabilities::default()
    };
    let result = serde_json::json!({
        "capabilities": capabilities,
        "serverInfo": ServerInfo {
            name: "exc".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        },
    });
    connection
        .initialize_finish(id, result)
        .map_err(|e| e.to_string())?;
    let mut server = Server {
        enc,
        docs: BTreeMap::new(),
        projects: Vec::new(),
        known: KnownTasks::default(),
        published: BTreeSet::new(),
    };
    server.main_loop(connection)
}

struct Server {
    enc: Encoding,
    /// Open buffers by canonical path.
    docs: BTreeMap<PathBuf, Doc>,
    projects: Vec<Project>,
    known: KnownTasks,
    /// Files that have diagnostics in the editor now.
    published: BTreeSet<PathBuf>,
}

impl Server {
    fn main_loop(&mut self, connection: &Connection) -> Result<(), String> {
        while let Ok(first) = connection.receiver.recv() {
            let mut batch = vec![first];
            batch.extend(connection.receiver.try_iter());
            let mut stale = false;
            for message in batch {
                match message {
                    Message::Request(req) => {
                        if connection
                            .handle_shutdown(&req)
                            .map_err(|e| e.to_string())?
                        {
                            return Ok(());
                        }
                        // Answer against the text the editor has now.
                        if stale {
                            self.check(connection)?;
                            stale = false;
                        }
                        let response = self.request(req);
                        send(connection, response.into())?;
                    }
                    Message::Notification(n) => stale |= self.notification(n),
                    Message::Response(_) => {}
                }
            }
            if stale {
                self.check(connection)?;
            }
        }
        Ok(())
    }

    /// Applies a buffer notification; true when the buffers changed.
    fn notification(&mut self, n: Notification) -> bool {
        let path_of =
            |uri: &lsp_types::Uri| text::uri_to_path(uri).map(|p| analysis::canonical(&p));
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(p) =
                    n.extract::<lsp_types::DidOpenTextDocumentParams>(DidOpenTextDocument::METHOD)
                else {
                    return false;
                };
                let Some(path) = path_of(&p.text_document.uri) else {
                    return false;
                };
                let doc = Doc {
                    text: p.text_document.text,
                    version: p.text_document.version,
                };
                self.docs.insert(path, doc);
                true
            }
            DidChangeTextDocument::METHOD => {
                let Ok(p) = n.extract::<lsp_types::DidChangeTextDocumentParams>(
                    DidChangeTextDocument::METHOD,
                ) else {
                    return false;
                };
                let (Some(path), Some(change)) = (
                    path_of(&p.text_document.uri),
                    p.content_changes.into_iter().last(),
                ) else {
                    return false;
                };
                // Full sync: the last change holds the whole text.
                self.docs.insert(
                    path,
                    Doc {
                        text: change.text,
                        version: p.text_document.version,
                    },
                );
                true
            }
            DidCloseTextDocument::METHOD => {
                let Ok(p) = n
                    .extract::<lsp_types::DidCloseTextDocumentParams>(DidCloseTextDocument::METHOD)
                else {
                    return false;
                };
                path_of(&p.text_document.uri).is_some_and(|path| self.docs.remove(&path).is_some())
            }
            // Saved text is the buffer's text, which the check already read;
            // files `use`d from disk may have changed beside it.
            DidSaveTextDocument::METHOD => true,
            _ => false,
        }
    }

    /// Checks the open buffers and publishes every file's diagnostics,
    /// clearing those of files that have none left.
    fn check(&mut self, connection: &Connection) -> Result<(), String> {
        self.projects = analysis::check(&self.docs);
        self.known.update(&self.projects);
        let mut by_file = analysis::diagnostics(&self.projects, &self.docs, self.enc);
        // Every open buffer hears after each check, if only that it is clean.
        for path in self.published.iter().chain(self.docs.keys()) {
            by_file.entry(path.clone()).or_default();
        }
        self.published.clear();
        for (path, diagnostics) in by_file {
            let Some(uri) = text::path_to_uri(&path) else {
                continue;
            };
            if !diagnostics.is_empty() {
                self.published.insert(path.clone());
            }
            let version = self.docs.get(&path).map(|d| d.version);
            let params = PublishDiagnosticsParams {
                uri,
                diagnostics,
                version,
            };
            send(
                connection,
                Notification::new(PublishDiagnostics::METHOD.into(), params).into(),
            )?;
        }
        Ok(())
    }

    fn request(&self, req: Request) -> Response {
        let id = req.id.clone();
        let result = match req.method.as_str() {
            GotoDefinition::METHOD => self.at(req, |s, path, offset| {
                navigate::definition(&s.projects, path, offset, s.enc)
                    .map(GotoDefinitionResponse::Scalar)
            }),
            HoverRequest::METHOD => self.at(req, |s, path, offset| {
                navigate::hover(&s.projects, &s.known, path, offset, s.enc)
            }),
            Completion::METHOD => self.at(req, |s, path, offset| {
                let doc = s.docs.get(path)?;
                let before = doc.text.get(..offset).unwrap_or("");
                Some(CompletionResponse::Array(complete::complete(
                    before, &s.known,
                )))
            }),
            _ => {
                return Response::new_err(
                    id,
                    ErrorCode::MethodNotFound as i32,
                    format!("exc lsp does not handle `{}`", req.method),
                )
            }
        };
        match result {
            Ok(value) => Response::new_ok(id, value),
            Err(message) => Response::new_err(id, ErrorCode::InvalidParams as i32, message),
        }
    }

    /// Runs `f` at the request's document and position; `null` when it finds nothing.
    fn at<T: serde::Serialize>(
        &self,
        req: Request,
        f: impl Fn(&Self, &std::path::Path, usize) -> Option<T>,
    ) -> Result<serde_json::Value, String> {
        let params: PositionParams =
            serde_json::from_value(req.params).map_err(|e| format!("{}: {e}", req.method))?;
        let p = params.position;
        let path = text::uri_to_path(&p.text_document.uri)
            .map(|p| analysis::canonical(&p))
            .ok_or_else(|| format!("not a file URI: `{}`", p.text_document.uri.as_str()))?;
        let Some(doc) = self.docs.get(&path) else {
            return Ok(serde_json::Value::Null);
        };
        let offset = text::offset(&doc.text, p.position, self.enc);
        serde_json::to_value(f(self, &path, offset)).map_err(|e| e.to_string())
    }
}

/// The position part of definition, hover and completion requests.
#[derive(serde::Deserialize)]
struct PositionParams {
    #[serde(flatten)]
    position: TextDocumentPositionParams,
}

fn send(connection: &Connection, message: Message) -> Result<(), String> {
    connection
        .sender
        .send(message)
        .map_err(|_| "the editor closed the connection".to_string())
}
