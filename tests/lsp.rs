//! `exc lsp` driven over stdio as an editor drives it: JSON-RPC messages with
//! `Content-Length` headers, over the project in `tests/fixtures/lsp/`, whose
//! files are opened and edited in (unsaved) buffers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long a reply may take; generous for a loaded CI machine.
const WAIT: Duration = Duration::from_secs(30);

struct Editor {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    next_id: i64,
    /// Notifications that arrived while waiting for a response.
    notifications: Vec<Value>,
}

impl Editor {
    fn start() -> Editor {
        let mut child = Command::new(env!("CARGO_BIN_EXE_exc"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, incoming) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            while let Some(message) = read_message(&mut r) {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        Editor {
            child,
            stdin,
            incoming,
            next_id: 1,
            notifications: Vec::new(),
        }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + WAIT;
        loop {
            let m = self.recv(deadline, method);
            if m.get("id") == Some(&json!(id)) {
                assert!(m.get("error").is_none(), "{method} failed: {m}");
                return m["result"].clone();
            }
            self.notifications.push(m);
        }
    }

    fn recv(&mut self, deadline: Instant, waiting_for: &str) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.incoming.recv_timeout(left) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => panic!("no {waiting_for} within {WAIT:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed stdout"),
        }
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            let found = self.notifications.iter().position(|n| {
                n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri
            });
            if let Some(i) = found {
                let n = self.notifications.remove(i);
                return n["params"]["diagnostics"].as_array().unwrap().clone();
            }
            let m = self.recv(deadline, "publishDiagnostics");
            self.notifications.push(m);
        }
    }
}

impl Editor {
    /// The last diagnostics published for `uri` so far (all of them are in,
    /// since the server checks before it answers a request).
    fn latest(&mut self, uri: &str) -> Value {
        let mut last = None;
        self.notifications.retain(|n| {
            let hit = n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri;
            if hit {
                last = Some(n["params"].clone());
            }
            !hit
        });
        last.unwrap_or_else(|| panic!("no diagnostics published for {uri}"))
    }
}

fn read_message(r: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = n.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lsp")
        .join(rel)
        .canonicalize()
        .unwrap()
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The (line, character) of the `nth` occurrence of `needle`, plus `shift` characters (ASCII text).
fn pos(text: &str, needle: &str, nth: usize, shift: usize) -> Value {
    let at = text.match_indices(needle).nth(nth).unwrap().0 + shift;
    let before = &text[..at];
    let line = before.matches('\n').count();
    let character = before.len() - before.rfind('\n').map_or(0, |i| i + 1);
    json!({"line": line, "character": character})
}

fn labels(completion: &Value) -> Vec<String> {
    let items = completion
        .as_array()
        .or_else(|| completion["items"].as_array())
        .unwrap();
    items
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_editor_session_over_stdio() {
    let mixture = fixture("small.exmix");
    let task = fixture("tasks/nli.task");
    let (mix_uri, task_uri) = (uri(&mixture), uri(&task));
    let mix_text = std::fs::read_to_string(&mixture).unwrap();
    let task_text = std::fs::read_to_string(&task).unwrap();
    let mut ed = Editor::start();

    let init = ed.request(
        "initialize",
        json!({"processId": null, "rootUri": uri(&fixture("")), "capabilities": {}}),
    );
    let caps = &init["capabilities"];
    assert_eq!(caps["positionEncoding"], "utf-16");
    assert_eq!(caps["textDocumentSync"], 1, "full sync");
    assert_eq!(caps["definitionProvider"], true);
    assert_eq!(caps["hoverProvider"], true);
    assert!(caps["completionProvider"].is_object());
    ed.notify("initialized", json!({}));

    // An unsaved buffer with a misspelt task: exc check's code, label and help.
    let typo = mix_text.replace("select tiny_nli", "select tiny_nl");
    ed.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": mix_uri, "languageId": "exmix", "version": 1, "text": typo}}),
    );
    let diags = ed.diagnostics(&mix_uri);
    assert_eq!(diags.len(), 1, "{diags:?}");
    let d = &diags[0];
    assert_eq!(d["code"], "exc::check::unknown_task", "{d}");
    assert_eq!(d["severity"], 1);
    assert_eq!(d["source"], "exc");
    assert_eq!(d["range"]["start"], pos(&typo, "tiny_nl", 0, 0));
    let message = d["message"].as_str().unwrap();
    assert!(
        message.starts_with("no task matches `tiny_nl`\nmatches nothing\n"),
        "{message}"
    );
    assert!(
        message.contains("help: did you mean `tiny_nli`"),
        "{message}"
    );

    // Fixed: the diagnostics are cleared.
    ed.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": mix_uri, "version": 2}, "contentChanges": [{"text": mix_text}]}),
    );
    assert_eq!(ed.diagnostics(&mix_uri), Vec::<Value>::new());

    // Across files: renaming the task in its (unsaved) buffer breaks the mixture.
    let renamed = task_text.replace("task tiny_nli", "task tiny_nli2");
    ed.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": task_uri, "languageId": "exc", "version": 1, "text": renamed}}),
    );
    let diags = ed.diagnostics(&mix_uri);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0]["message"].as_str().unwrap().contains("tiny_nli2"),
        "{diags:?}"
    );
    assert_eq!(ed.diagnostics(&task_uri), Vec::<Value>::new());
    ed.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": task_uri, "version": 2}, "contentChanges": [{"text": task_text}]}),
    );
    assert_eq!(ed.diagnostics(&mix_uri), Vec::<Value>::new());

    // Go to definition: the task's block, and the `use`d directory.
    let def = ed.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": mix_uri}, "position": pos(&mix_text, "tiny_nli", 0, 2)}),
    );
    assert_eq!(def["uri"], task_uri);
    assert_eq!(def["range"]["start"], pos(&task_text, "tiny_nli", 0, 0));
    let def = ed.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": mix_uri}, "position": pos(&mix_text, "\"tasks\"", 0, 2)}),
    );
    assert_eq!(def["uri"], uri(&fixture("tasks")));

    // Hover: the task's sample as the model reads it, a metric's options.
    let hover = ed.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": mix_uri}, "position": pos(&mix_text, "tiny_nli", 0, 0)}),
    );
    let shown = hover["contents"]["value"].as_str().unwrap();
    assert!(
        shown.contains("input:  premise: A cat sleeps. hypothesis: An animal rests."),
        "{shown}"
    );
    assert!(shown.contains("target: entailment"), "{shown}");
    let hover = ed.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": task_uri}, "position": pos(&task_text, "f1", 0, 1)}),
    );
    let shown = hover["contents"]["value"].as_str().unwrap();
    assert!(shown.starts_with("**metric `f1`**"), "{shown}");
    assert!(
        shown.contains("| option | takes | default | meaning |"),
        "{shown}"
    );

    // Completion while typing a template hole, a function and a metric.
    let typing = task_text.replace("input \"premise: {premise}", "input \"premise: {pre");
    ed.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": task_uri, "version": 3}, "contentChanges": [{"text": typing}]}),
    );
    let c = ed.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": task_uri}, "position": pos(&typing, "{pre", 0, 4)}),
    );
    assert_eq!(labels(&c), ["premise", "hypothesis", "label"]);
    let c = ed.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": task_uri}, "position": pos(&typing, "{hypothesis}", 0, 11)}),
    );
    assert!(labels(&c).contains(&"premise".to_string()), "{c}");
    let piped = task_text.replace("{hypothesis}", "{hypothesis | lo}");
    ed.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": task_uri, "version": 4}, "contentChanges": [{"text": piped}]}),
    );
    let c = ed.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": task_uri}, "position": pos(&piped, "| lo", 0, 4)}),
    );
    assert!(labels(&c).contains(&"lower".to_string()), "{c}");
    let c = ed.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": task_uri}, "position": pos(&piped, "accuracy", 0, 3)}),
    );
    assert!(labels(&c).contains(&"bleu".to_string()), "{c}");

    // The buffer with `| lo` names an unknown function: reported in the task's file.
    let published = ed.latest(&task_uri);
    assert_eq!(published["version"], 4);
    let diags = published["diagnostics"].as_array().unwrap();
    assert!(
        diags
            .iter()
            .any(|d| d["code"] == "exc::check::unknown_function"),
        "{diags:?}"
    );

    assert_eq!(ed.request("shutdown", Value::Null), Value::Null);
    ed.notify("exit", Value::Null);
    let status = ed.child.wait().unwrap();
    assert!(status.success(), "{status}");
}
