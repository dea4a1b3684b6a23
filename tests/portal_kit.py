"""The portal tests' world: the example apartment and gold, the example investors (with their labels, in the ledger
only), the example allocations minted, a second title-deed version, one transfer, a lien, freezes, redemptions; a
ledger synced to the end. Shared by tests/test_portal.py (TestClient) and tests/test_portal_browser.py (Chromium)."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from rwaledger.ledger import Ledger
from rwaledger.models import AssetSpec, DocumentSpec, InvestorSpec, MintRequest, load_csv, load_spec, parse
from rwaledger.services import Services
from rwaledger.session import open_session
from rwaledger.signers import Signer
from rwaledger.stack import deploy_stack

EXAMPLES = Path(__file__).resolve().parents[1] / "scripts" / "examples"
DOCUMENTS = EXAMPLES / "documents"


@dataclass
class World:
    stack: Any
    ledger: Ledger
    labels: list[str]  # the investors' labels: personal data, on no public page
    investors: list[InvestorSpec]
    deed_v1: Path  # the example title deed, superseded by deed_v2
    deed_v2: Path
    reference: str  # the apartment's legal reference as written in the land record


def build_world(chain: Any, rwa_build: Any, home: Path) -> World:
    session = open_session(chain=chain, build=rwa_build, record=False)
    stack = deploy_stack(session)
    ledger = Ledger.open(str(home / "ledger.sqlite"))
    reg = Services(stack, ledger=ledger)
    specs = [load_spec(EXAMPLES / name, AssetSpec) for name in ("lahore-apartment.toml", "karachi-gold.toml")]
    for spec in specs:
        reg.assets.register(spec)
    investors = load_csv(EXAMPLES / "investors.csv", InvestorSpec)
    reg.investors.add_many(investors)
    allocations = load_csv(EXAMPLES / "allocations.csv", MintRequest)
    reg.issuance.mint_many(allocations)
    deed = home / "title-deed-v2.txt"
    deed.write_text("Fard of the Gulberg apartment, corrected 2026-06-01\n")
    reg.assets.add_document("LHR-GH12B", parse(DocumentSpec, {"name": "title-deed", "file": str(deed),
                                                              "uri": "ipfs://deed-v2", "effective_date": "2026-06-01"},
                                               "doc"))
    keys = {a.address: a for a in chain.dev_accounts}
    ayesha, fatima = investors[0].wallet, investors[2].wallet
    reg.transfers.transfer("LHR-GH12B", Signer(keys[ayesha], "ayesha"), fatima, "250 shares")
    bank = chain.dev_accounts[9].address
    reg.enforcement.create_lien("LHR-GH12B", investors[1].wallet, bank, "400 shares", "LOAN-77")
    reg.enforcement.freeze("LHR-GH12B", investors[3].wallet)
    reg.enforcement.freeze_partial("LHR-GH12B", fatima, "20 shares")
    gold_holder = [a.to for a in allocations if a.asset == "KHI-GOLD"][-1]
    reg.redemptions.request_redemption("KHI-GOLD", Signer(keys[gold_holder], "gold"), "1000", "deliver-1")
    done = reg.redemptions.request_redemption("KHI-GOLD", Signer(keys[gold_holder], "gold"), "500", "deliver-2")
    reg.redemptions.fulfil_redemption("KHI-GOLD", done, "KHI-LOT-2026-002")
    ledger.sync(stack)
    ledger.reconcile(stack)
    return World(stack=stack, ledger=ledger, labels=[i.label for i in investors if i.label], investors=investors,
                 deed_v1=DOCUMENTS / "lhr-gh12b-fard.txt", deed_v2=deed, reference=specs[0].legal_reference)


def name_parts(labels: list[str]) -> set[str]:
    """Each label and the name before its parenthesis (``Ayesha Khan (Lahore)`` -> also ``Ayesha Khan``)."""
    return {p for label in labels for p in (label, label.split(" (")[0])}


ROLES = ("registrar", "compliance", "custodian", "auditor")


def add_officers(ledger: Ledger) -> dict[str, str]:
    """One officer per role (the writers sign with dev account 0, which holds every role of the stack); their tokens."""
    from rwaledger.officers import OfficerStore

    store = OfficerStore(ledger.engine)
    return {role: store.add(f"{role} officer", role, account=None if role == "auditor" else 0)[1] for role in ROLES}


def console_app(w: World, dirs: Path, chunk: int = 2) -> Any:
    """The app with the officer API and the officer console (a CSV batch sent in parts of ``chunk`` rows)."""
    from rwaledger.api import create_app
    from rwaledger.api.officer import officer_router
    from rwaledger.portal.console import console_router

    app = create_app(w.ledger)
    officer_api = officer_router(w.ledger, w.stack, upload_dir=dirs / "uploads", distributions_dir=dirs / "distributions")
    app.include_router(officer_api)
    app.include_router(console_router(app, w.ledger, officer_api.desk, chunk=chunk))
    return app


@contextlib.contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free port (outside the ephemeral range): its base URL."""
    import uvicorn

    from rwaledger.node import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)

