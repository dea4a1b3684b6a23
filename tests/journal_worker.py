"""A registrar process for tests/test_journal.py: onboards ``count`` investors and mints one allocation each, in
small chunks (many transactions), against the stack recorded in ``deployments_dir``. The test kills it (kill -9)
at some point and re-runs the same batch.

    python journal_worker.py URL DEPLOYMENTS_DIR SEED COUNT CHUNK
"""

from __future__ import annotations

import sys

from eth_utils import keccak, to_checksum_address

from rwaledger.chain import AnvilChain
from rwaledger.models import InvestorSpec, MintRequest
from rwaledger.services import Services
from rwaledger.session import open_session
from rwaledger.stack import deploy_stack

SYMBOL = "CRASH-1"


def wallets(seed: int, count: int) -> list[str]:
    return [to_checksum_address(keccak(text=f"journal-{seed}-{i}")[-20:]) for i in range(count)]


def batch(seed: int, count: int) -> tuple[list[InvestorSpec], list[MintRequest]]:
    ws = wallets(seed, count)
    specs = [InvestorSpec(wallet=w, country="PK", kyc_expiry="2030-01-01", category="retail") for w in ws]
    mints = [MintRequest(asset=SYMBOL, to=w, amount=1 + i % 7, reference=f"crash-{seed}-{i}") for i, w in enumerate(ws)]
    return specs, mints


def run(reg: Services, seed: int, count: int, chunk: int) -> None:
    specs, mints = batch(seed, count)
    reg.investors.add_many(specs, chunk=chunk)
    reg.issuance.mint_many(mints, chunk=chunk)


def services(url: str, deployments_dir: str) -> Services:
    from pathlib import Path

    session = open_session(chain=AnvilChain(url=url), record=True, deployments_dir=Path(deployments_dir))
    return Services(deploy_stack(session))


if __name__ == "__main__":
    import faulthandler
    import signal

    from rwaledger import transactions

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # the test asks where a stalled worker is
    url, deployments_dir, seed, count, chunk = sys.argv[1:6]
    transactions.WINDOW = int(sys.argv[6]) if len(sys.argv) > 6 else 5  # small windows: a kill lands between them
    run(services(url, deployments_dir), int(seed), int(count), int(chunk))
    print("done", flush=True)
