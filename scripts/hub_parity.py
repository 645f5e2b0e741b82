"""Cache compatibility of `exc fetch` with huggingface_hub, against the hub
emulator (exc-hub's `emulator` example, serving tests/fixtures/hub/repos):

1. `exc fetch` fetches tests/fixtures/hub/good.exmix into cache A, and
   huggingface_hub finds every file of it with `local_files_only=True`
   (same bytes); `scan_cache_dir` reads cache A without warnings.
2. huggingface_hub downloads the same files from the emulator into cache B
   (so the emulator is accepted by the real client). Cache B is copied to
   tests/fixtures/hub/hf_cache/ (tests/fetch.rs: exc finds files laid out by
   huggingface_hub) and its layout, with cache A's, goes into
   tests/fixtures/hub/parity.json (tests/fetch.rs: exc writes that layout).

    python3 -m venv /tmp/hubvenv && /tmp/hubvenv/bin/pip install huggingface_hub
    cargo build --no-default-features && cargo build -p exc-hub --features emulator --example emulator
    /tmp/hubvenv/bin/python scripts/hub_parity.py
"""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIX = ROOT / "tests/fixtures/hub"


def layout(cache):
    """Every path under the repos of `cache` (no `.locks`): files with their
    sha256, links with their target."""
    out = {}
    for p in sorted(pathlib.Path(cache).rglob("*")):
        rel = p.relative_to(cache).as_posix()
        if rel.startswith(".locks") or not rel.startswith("datasets--"):
            continue
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def main():
    import huggingface_hub as hh

    emu = subprocess.Popen(
        [str(ROOT / "target/debug/examples/emulator"), str(FIX / "repos")],
        stdout=subprocess.PIPE, text=True)
    url = emu.stdout.readline().strip()
    try:
        work = pathlib.Path(tempfile.mkdtemp())
        for f in ["good.task", "good.exmix"]:
            shutil.copy(FIX / f, work / f)
        (work / ".git").write_text("")
        a, b = work / "a", work / "b"
        env = dict(os.environ, HF_ENDPOINT=url, HF_HUB_CACHE=str(a), HF_HOME=str(work / "hf"))
        env.pop("HF_TOKEN", None)
        subprocess.run([str(ROOT / "target/debug/exc"), "fetch", "good.exmix"],
                       cwd=work, env=env, check=True)
        fetched = []
        for repo_dir in sorted(a.glob("datasets--*")):
            repo_id = repo_dir.name[len("datasets--"):].replace("--", "/")
            for ref in sorted((repo_dir / "refs").rglob("*")):
                if not ref.is_file():
                    continue
                revision = ref.relative_to(repo_dir / "refs").as_posix()
                commit = ref.read_text().strip()
                snap = repo_dir / "snapshots" / commit
                for f in sorted(snap.rglob("*")):
                    if f.is_file():
                        fetched.append((repo_id, revision, f.relative_to(snap).as_posix(),
                                        hashlib.sha256(f.read_bytes()).hexdigest()))
        found = []
        for repo_id, revision, name, sha in fetched:
            p = hh.hf_hub_download(repo_id, name, repo_type="dataset", revision=revision,
                                   cache_dir=a, local_files_only=True)
            got = hashlib.sha256(pathlib.Path(p).read_bytes()).hexdigest()
            assert got == sha, (repo_id, name)
            found.append({"repo": repo_id, "revision": revision, "file": name, "sha256": got,
                          "path": pathlib.Path(p).relative_to(a).as_posix()})
        info = hh.scan_cache_dir(a)
        assert not info.warnings, info.warnings
        # The same files through huggingface_hub's own client, from the emulator.
        os.environ["HF_ENDPOINT"] = url
        from importlib import reload
        import huggingface_hub.constants as hc
        reload(hc)
        for repo_id, revision, name, _ in fetched:
            hh.hf_hub_download(repo_id, name, repo_type="dataset", revision=revision,
                               cache_dir=b, endpoint=url)
        golden = {
            "huggingface_hub": hh.__version__,
            "found_with_local_files_only": found,
            "exc_layout": layout(a),
            "huggingface_hub_layout": layout(b),
        }
        (FIX / "parity.json").write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
        dest = FIX / "hf_cache"
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(b, dest, symlinks=True, ignore=shutil.ignore_patterns(".locks"))
        same = golden["exc_layout"] == golden["huggingface_hub_layout"]
        print(f"huggingface_hub {hh.__version__}: found {len(found)} files exc fetched; "
              f"layouts {'identical' if same else 'DIFFER'}")
        return 0 if same else 1
    finally:
        emu.kill()


if __name__ == "__main__":
    sys.exit(main())
