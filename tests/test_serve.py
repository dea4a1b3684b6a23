"""`rwa serve --demo`: with nothing configured, a private anvil with the demo on it, served over HTTP."""

import json
import subprocess
import sys
import time
import urllib.request

from rwaledger import node


def test_serve_demo_needs_nothing_configured(root, tmp_path):
    port = node.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rwaledger.cli", "serve", "--demo", "--port", str(port)],
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, assets = time.time() + 120, None
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/assets", timeout=2) as r:
                    assets = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.3)
        assert assets is not None, proc.communicate(timeout=5) if proc.poll() is not None else "no answer"
        assert [a["symbol"] for a in assets] == ["LHR-GH12B", "KHI-GOLD"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/assets/LHR-GH12B/cap-table", timeout=5) as r:
            page = json.loads(r.read())
        assert page["holders"] == 6 and page["total_supply"] == "10000"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5) as r:
            status = json.loads(r.read())
        assert status["follower_running"] is True and status["role"] == "leader"  # alone on its ledger: it writes
    finally:
        proc.terminate()
        proc.wait(timeout=20)
