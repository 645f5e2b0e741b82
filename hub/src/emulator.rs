//! A hub emulator on 127.0.0.1 for tests: the endpoints exc and
//! `huggingface_hub` use, served from files given in memory.
//!
//! - `GET /api/{datasets,models}/ORG/NAME[/revision/REV]`: the repo's commit
//!   and files (`siblings` with `size`, `blobId` and, for LFS files, `lfs`).
//! - `GET|HEAD /[datasets/]ORG/NAME/resolve/REV/PATH`: the file with
//!   `ETag`, `X-Repo-Commit` and, for LFS files, `X-Linked-Etag` and
//!   `X-Linked-Size`; `Range: bytes=A-[B]` gives 206 and `Content-Range`.
//! - A gated repo answers 401, an unknown repo, revision or file 404, each
//!   with the hub's `X-Error-Code`.
//! - A file can be set to cut the connection half-way through its body a
//!   number of times; every request is logged.
//!
//! Every request gets one response and the connection closes.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};

use sha2::{Digest, Sha256};

use crate::cache::RepoKind;

/// One revision of a repo: its commit and files.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub commit: String,
    pub files: BTreeMap<String, Vec<u8>>,
}

/// A repo: its revisions by name (`main`, `refs/convert/parquet`).
#[derive(Debug, Clone)]
pub struct FakeRepo {
    pub kind: RepoKind,
    pub id: String,
    pub revisions: BTreeMap<String, Snapshot>,
    /// Answers 401 without a token (`Bearer` anything not `good`): gated.
    pub gated: bool,
}

/// A request the emulator answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
    pub status: u16,
}

#[derive(Default)]
struct State {
    repos: Vec<FakeRepo>,
    /// Repo path -> how many more times its body is cut half-way.
    cuts: BTreeMap<String, usize>,
    log: Vec<Logged>,
}

/// The running emulator; it stops serving when the test process ends.
pub struct Emulator {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

/// Whether the hub stores `path` in LFS (its default `.gitattributes`
/// covers these).
fn is_lfs(path: &str) -> bool {
    [
        ".parquet",
        ".gz",
        ".safetensors",
        ".bin",
        ".model",
        ".arrow",
    ]
    .iter()
    .any(|e| path.ends_with(e))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// (sha256, blob id). The blob id of a file outside LFS is git's sha1 on
/// the hub; the emulator uses the first 40 digits of a sha256 of git's
/// blob header and content, which is as unique and needs no sha1.
fn ids(content: &[u8]) -> (String, String) {
    let sha = hex(&Sha256::digest(content));
    let mut h = Sha256::new();
    h.update(format!("blob {}\0", content.len()).as_bytes());
    h.update(content);
    (sha, hex(&h.finalize())[..40].to_string())
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl Emulator {
    /// Serves `repos` on a free port of 127.0.0.1.
    pub fn start(repos: Vec<FakeRepo>) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            repos,
            ..State::default()
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &state);
                });
            }
        });
        Ok(Emulator { addr, state })
    }

    /// `http://127.0.0.1:PORT`, for `HF_ENDPOINT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Cuts the body of `path` (a repo file path) half-way the next `times` times.
    pub fn cut(&self, path: &str, times: usize) {
        lock(&self.state).cuts.insert(path.to_string(), times);
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<Logged> {
        lock(&self.state).log.clone()
    }

    pub fn clear_log(&self) {
        lock(&self.state).log.clear();
    }

    /// Moves `revision` of repo `id` to a new commit (same files).
    pub fn move_commit(&self, id: &str, revision: &str, commit: &str) {
        let mut s = lock(&self.state);
        for r in s.repos.iter_mut().filter(|r| r.id == id) {
            if let Some(snap) = r.revisions.get_mut(revision) {
                snap.commit = commit.to_string();
            }
        }
    }
}

struct Request {
    method: String,
    path: String,
    range: Option<String>,
    token: Option<String>,
}

fn read_request(stream: &TcpStream) -> std::io::Result<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or("").to_string();
    let path = words.next().unwrap_or("").to_string();
    let (mut range, mut token) = (None, None);
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let v = v.trim().to_string();
            match k.trim().to_ascii_lowercase().as_str() {
                "range" => range = Some(v),
                "authorization" => token = v.strip_prefix("Bearer ").map(str::to_string),
                _ => {}
            }
        }
    }
    Ok(Request {
        method,
        path,
        range,
        token,
    })
}

/// `%2F` and friends back to bytes.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Send only this many body bytes, then close (a cut connection).
    cut_at: Option<usize>,
}

fn error(status: u16, code: &str) -> Response {
    Response {
        status,
        headers: vec![("X-Error-Code".into(), code.into())],
        body: format!("{{\"error\":\"{code}\"}}").into_bytes(),
        cut_at: None,
    }
}

fn serve(mut stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let req = read_request(&stream)?;
    // The query (`?blobs=true`) changes nothing: sizes are always listed.
    let path = req
        .path
        .split_once('?')
        .map_or(req.path.as_str(), |(p, _)| p);
    let resp = route(&req, path, state);
    lock(state).log.push(Logged {
        method: req.method.clone(),
        path: unescape(path),
        range: req.range.clone(),
        status: resp.status,
    });
    let reason = match resp.status {
        200 => "OK",
        206 => "Partial Content",
        401 => "Unauthorized",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        _ => "Error",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
        resp.status,
        resp.body.len()
    );
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if req.method != "HEAD" {
        let n = resp.cut_at.unwrap_or(resp.body.len());
        stream.write_all(&resp.body[..n])?;
    }
    stream.flush()?;
    if resp.cut_at.is_some() {
        let _ = stream.shutdown(std::net::Shutdown::Both);
    }
    Ok(())
}

/// `(kind, org/name, rest)` of an API or resolve path.
fn split_repo(path: &str, api: bool) -> Option<(RepoKind, String, Vec<String>)> {
    let parts: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(unescape)
        .collect();
    let mut rest: &[String] = &parts;
    if api {
        rest = rest.strip_prefix(&["api".to_string()])?;
    }
    let kind = match rest.first().map(String::as_str) {
        Some("datasets") => {
            rest = &rest[1..];
            RepoKind::Dataset
        }
        Some("models") if api => {
            rest = &rest[1..];
            RepoKind::Model
        }
        _ => RepoKind::Model,
    };
    if rest.len() < 2 {
        return None;
    }
    Some((kind, format!("{}/{}", rest[0], rest[1]), rest[2..].to_vec()))
}

fn route(req: &Request, path: &str, state: &Mutex<State>) -> Response {
    let api = path.starts_with("/api/");
    let Some((kind, id, rest)) = split_repo(path, api) else {
        return error(404, "RepoNotFound");
    };
    let mut s = lock(state);
    let Some(repo) = s
        .repos
        .iter()
        .find(|r| r.kind == kind && r.id == id)
        .cloned()
    else {
        return error(404, "RepoNotFound");
    };
    if repo.gated && req.token.as_deref() != Some("good") {
        return error(401, "GatedRepo");
    }
    // The revision is one path segment (`refs%2Fconvert%2Fparquet`), or a commit.
    let (revision, file) = match (api, rest.first().map(String::as_str)) {
        (true, None) => ("main".to_string(), None),
        (true, Some("revision")) if rest.len() >= 2 => (rest[1..].join("/"), None),
        (false, Some("resolve")) if rest.len() >= 3 => (rest[1].clone(), Some(rest[2..].join("/"))),
        _ => return error(404, "EntryNotFound"),
    };
    let Some(snap) = repo
        .revisions
        .iter()
        .find(|(name, snap)| **name == revision || snap.commit == revision)
        .map(|(_, snap)| snap.clone())
    else {
        return error(404, "RevisionNotFound");
    };
    let Some(file) = file else {
        return listing(&repo, &snap);
    };
    let Some(content) = snap.files.get(&file) else {
        return error(404, "EntryNotFound");
    };
    let (sha, blob) = ids(content);
    let mut headers = vec![
        ("X-Repo-Commit".to_string(), snap.commit.clone()),
        ("Accept-Ranges".into(), "bytes".into()),
    ];
    if is_lfs(&file) {
        headers.push(("ETag".into(), format!("\"{sha}\"")));
        headers.push(("X-Linked-Etag".into(), format!("\"{sha}\"")));
        headers.push(("X-Linked-Size".into(), content.len().to_string()));
    } else {
        headers.push(("ETag".into(), format!("\"{blob}\"")));
    }
    let total = content.len();
    let (status, body) = match req.range.as_deref().and_then(|r| parse_range(r, total)) {
        Some((a, b)) => {
            headers.push(("Content-Range".into(), format!("bytes {a}-{b}/{total}")));
            (206, content[a..=b].to_vec())
        }
        None if req.range.is_some() => {
            headers.push(("Content-Range".into(), format!("bytes */{total}")));
            (416, Vec::new())
        }
        None => (200, content.clone()),
    };
    // Probes (`bytes=0-0`, HEAD) are never cut; a body is.
    let mut cut_at = None;
    if req.method == "GET" && body.len() > 1 {
        if let Some(n) = s.cuts.get_mut(&file).filter(|n| **n > 0) {
            *n -= 1;
            cut_at = Some(body.len() / 2);
        }
    }
    Response {
        status,
        headers,
        body,
        cut_at,
    }
}

/// `bytes=A-B` or `bytes=A-` as an inclusive range within `total`.
fn parse_range(r: &str, total: usize) -> Option<(usize, usize)> {
    let (a, b) = r.strip_prefix("bytes=")?.split_once('-')?;
    let a: usize = a.trim().parse().ok()?;
    let b = match b.trim() {
        "" => total.checked_sub(1)?,
        b => b.parse::<usize>().ok()?.min(total.checked_sub(1)?),
    };
    (a <= b).then_some((a, b))
}

fn listing(repo: &FakeRepo, snap: &Snapshot) -> Response {
    let siblings: Vec<serde_json::Value> = snap
        .files
        .iter()
        .map(|(path, content)| {
            let (sha, blob) = ids(content);
            let mut v = serde_json::json!({
                "rfilename": path,
                "blobId": blob,
                "size": content.len(),
            });
            if is_lfs(path) {
                v["lfs"] = serde_json::json!({
                    "sha256": sha, "size": content.len(), "pointerSize": 134
                });
            }
            v
        })
        .collect();
    let body = serde_json::json!({
        "_id": format!("emulated-{}", repo.id),
        "id": repo.id,
        "sha": snap.commit,
        "private": false,
        "gated": if repo.gated { serde_json::json!("auto") } else { serde_json::json!(false) },
        "disabled": false,
        "tags": [],
        "siblings": siblings,
    });
    Response {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
        cut_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_escapes() {
        assert_eq!(parse_range("bytes=0-0", 10), Some((0, 0)));
        assert_eq!(parse_range("bytes=4-", 10), Some((4, 9)));
        assert_eq!(parse_range("bytes=4-100", 10), Some((4, 9)));
        assert_eq!(parse_range("bytes=10-", 10), None);
        assert_eq!(unescape("refs%2Fconvert%2Fparquet"), "refs/convert/parquet");
    }
}
