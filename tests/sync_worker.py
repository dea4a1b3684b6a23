"""A ledger-sync process for tests/test_journal.py: syncs the SQLite ledger LEDGER from the stack recorded in
DEPLOYMENTS_DIR, BATCH blocks per committed range, printing the last block of each range as it commits. The test kills
it (kill -9), or kills its node, mid-sync, then syncs the same ledger again.

    python sync_worker.py URL DEPLOYMENTS_DIR LEDGER BATCH FROM_BLOCK
"""

from __future__ import annotations

import sys

from journal_worker import services

from rwaledger.ledger import Ledger

if __name__ == "__main__":
    url, deployments_dir, path, batch, start = sys.argv[1:6]
    reg = services(url, deployments_dir)
    with Ledger.open(path) as ledger:
        ledger.sync(reg.stack, batch_blocks=int(batch), from_block=int(start),
                    progress=lambda p: print(p.to_block, flush=True))
    print("done", flush=True)
