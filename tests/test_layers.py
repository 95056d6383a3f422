"""The package's layers: face -> geometry -> synthesis -> recognition -> operations -> video -> augment ->
evaluation -> interfaces. A module may import its own layer and those below it, never one above (imports
inside functions included)."""

import ast
from pathlib import Path

import studio

LAYERS = ("face", "geometry", "synthesis", "recognition", "operations", "video", "augment", "evaluation",
          "interfaces")
ROOT = Path(studio.__file__).parent


def imported_layers(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "studio" and len(parts) > 1 and parts[1] in LAYERS:
                found.add(parts[1])
    return found


def test_every_layer_folder_is_known():
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert folders == set(LAYERS)


def test_lower_layers_never_import_higher_ones():
    wrong = []
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            for other in imported_layers(path):
                if LAYERS.index(other) > LAYERS.index(layer):
                    wrong.append(f"{path.relative_to(ROOT)} imports studio.{other}")
    assert not wrong, wrong
