"""The stdlib `tokenize` trap: tokenize/ is a source root, never a package."""

import subprocess
import sys


def test_repo_root_import_tokenize_gives_stdlib(root):
    code = "import tokenize, inspect; print(inspect.getfile(tokenize)); assert hasattr(tokenize, 'generate_tokens')"
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    path = proc.stdout.strip()
    assert not path.startswith(str(root)), f"tokenize came from the repo: {path}"


def test_tokenize_is_not_a_package(root):
    assert not (root / "tokenize" / "__init__.py").exists()
    assert (root / "tokenize" / "rwaledger" / "__init__.py").exists()


def test_rwaledger_is_imported_from_the_source_root(root):
    import rwaledger

    assert rwaledger.__file__.startswith(str(root / "tokenize" / "rwaledger"))
