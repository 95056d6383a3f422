"""The app server's own folders on disk: Gradio's uploads and cached previews, and the exports.

Each server gets one folder, `studio-server-*`, named by nothing a user sends, with an owner file
holding its process id. Files in it are deleted once they are `keep_s` old (that includes uploads
a client abandoned part-way, which Gradio never registers and so never deletes itself); the
folder goes at shutdown; and a server starting up deletes the folders of servers that died
without cleaning up (killed, or the machine lost power).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

IN_FLIGHT_S = 900.0   # no request runs longer: a folder marked in use longer ago than this is not
WRITING = ".writing"  # the marker of an export folder whose request is still writing into it


def in_use(folder: Path) -> bool:
    """Whether a request is still writing into this export folder (a long animation writes its
    strip, then minutes later its GIF: the folder must outlive the pruning age meanwhile)."""
    try:
        return (folder / WRITING).lstat().st_mtime > time.time() - IN_FLIGHT_S
    except OSError:
        return False


PREFIX = "studio-server-"
OWNER = "owner.json"
LEGACY_PREFIX = "studio-exports-"   # export folders of servers before this module
LEGACY_KEEP_S = 3600


def _started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (tells a reused pid apart), if readable."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(owner: dict) -> bool:
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    started = _started(pid)
    return started is None or owner.get("started") in (None, started)


def _newest_mtime(folder: Path) -> float:
    newest = folder.stat().st_mtime
    for path in folder.rglob("*"):
        try:
            newest = max(newest, path.lstat().st_mtime)
        except OSError:
            pass
    return newest


def sweep_orphans(parent: Path, legacy_parent: Path | None = None) -> list[Path]:
    """Delete the folders of servers that are no longer running under `parent`, and export
    folders of older servers (which had no owner file) left an hour or more in `legacy_parent`
    (default: the system's temporary folder); returns what was deleted."""
    removed = []
    for folder in sorted(parent.glob(PREFIX + "*")):
        try:
            owner = json.loads((folder / OWNER).read_text())
        except (OSError, ValueError):
            owner = {}
        if folder.is_dir() and not folder.is_symlink() and not _alive(owner):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    cutoff = time.time() - LEGACY_KEEP_S
    for folder in sorted(Path(legacy_parent or tempfile.gettempdir()).glob(LEGACY_PREFIX + "*")):
        if folder.is_dir() and not folder.is_symlink() and _newest_mtime(folder) < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@dataclass(frozen=True)
class ServerFolders:
    root: Path

    @property
    def uploads(self) -> Path:
        """Gradio's upload and cache folder (GRADIO_TEMP_DIR)."""
        return self.root / "uploads"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @classmethod
    def create(cls, parent: Path | None = None) -> "ServerFolders":
        """A new folder under `parent` (default: the system's temporary folder), after deleting
        the folders of dead servers there."""
        parent = Path(parent or tempfile.gettempdir())
        parent.mkdir(parents=True, exist_ok=True)
        sweep_orphans(parent)
        root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
        (root / OWNER).write_text(json.dumps({"pid": os.getpid(), "started": _started(os.getpid())}))
        folders = cls(root)
        folders.uploads.mkdir()
        folders.exports.mkdir()
        return folders

    def sweep(self, keep_s: float) -> int:
        """Delete what is older than keep_s and nobody else deletes: uploads abandoned part-way
        (Gradio streams each upload into a loose temporary file at the top of its folder and moves
        finished ones into folders of their own, which it deletes itself and which hold the
        examples it keeps) and exports. Returns how many files went."""
        cutoff = time.time() - keep_s
        removed = 0
        loose = [p for p in self.uploads.iterdir() if p.is_symlink() or p.is_file()]
        for path in loose + sorted(self.exports.rglob("*"), key=lambda p: -len(p.parts)):   # deepest first
            try:
                if path.parent != self.uploads and in_use(path.parent if not path.is_dir() else path):
                    continue   # a request is still writing there
                if path.is_symlink() or path.is_file():
                    if path.lstat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
                elif path.is_dir() and path.stat().st_mtime < cutoff and not any(path.iterdir()):
                    path.rmdir()
            except OSError:
                pass   # gone already (ExportFolder prunes too)
        return removed

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def sweep_gradio_cache(blocks, keep_s: float) -> int:
    """Delete the files Gradio made for this app (previews, finished uploads) that are older than
    keep_s; returns how many went. Gradio's own scheduled sweep (Blocks' delete_cache) iterates
    each of its file sets while requests add to them, and the first "set changed size during
    iteration" ends it for good: under load the previews then piled up (239 files an hour on,
    in the load test). This one copies each set first, and runs on the janitor's thread.

    It also sweeps what no Gradio sweep sees. An update of a component's settings (the
    before/after divider's position) gives that session its own copy of the component: the
    update's own files are listed nowhere, and every later file of that component in that
    session is listed in the copy alone. So the copies' lists are swept too, and then every
    file Gradio's cache folder holds (one folder per file) by its age."""
    keep = set()
    for component in blocks.blocks.values():
        keep.update(getattr(component, "keep_in_cache", set()))
    cutoff = time.time() - keep_s
    removed = 0
    temp_sets = list(blocks.temp_file_sets)
    holder = getattr(blocks, "state_holder", None)
    if holder is not None:
        with holder.lock:
            sessions = list(holder.session_data.values())
        for session in sessions:
            for component in list(session.blocks_config.blocks.values()):
                files = getattr(component, "temp_files", None)
                if isinstance(files, set):
                    temp_sets.append(files)
    for temp_set in temp_sets:
        for file in temp_set.copy():   # one C-level copy: safe while requests add files
            if file in keep:
                continue
            try:
                if Path(file).lstat().st_ctime < cutoff:
                    os.remove(file)
                    temp_set.discard(file)
                    removed += 1
            except FileNotFoundError:
                temp_set.discard(file)
    cache = Path(getattr(blocks, "GRADIO_CACHE", "") or "")
    keep = {os.path.abspath(k) for k in keep}
    if str(cache) and cache.is_dir():
        for folder in cache.iterdir():
            if folder.is_symlink() or not folder.is_dir():
                continue   # loose files are uploads in progress: ServerFolders.sweep's
            try:
                for file in folder.iterdir():
                    if file.is_file() and os.path.abspath(file) not in keep and file.lstat().st_ctime < cutoff:
                        file.unlink()
                        removed += 1
                if not any(folder.iterdir()) and folder.stat().st_mtime < cutoff:
                    folder.rmdir()
            except OSError:
                pass   # gone already, or being written
    return removed


class Janitor:
    """Runs `chores` every `every_s` seconds on a daemon thread until stopped."""

    def __init__(self, every_s: float, *chores):
        import threading

        self._every, self._chores = every_s, chores
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="studio-janitor", daemon=True)

    def start(self) -> "Janitor":
        self._thread.start()
        return self

    def _run(self) -> None:
        import logging

        while not self._stop.wait(self._every):
            for chore in self._chores:
                try:
                    chore()
                except Exception:   # a failed sweep must not stop the next one
                    logging.getLogger("studio.app").exception("sweep failed")

    def stop(self) -> None:
        self._stop.set()
