"""The main job: compile the contracts and deploy the first contract of the stack on the in-process chain.

Run it with `make demo` (or `.venv/bin/python scripts/demo.py`). Later
milestones grow this into the full end-to-end registrar demo.
"""

from rich.console import Console

from rwaledger.session import open_session

console = Console()


def main() -> None:
    with open_session("tester") as s:
        b = s.build
        console.print(f"compiled {len(b.artifacts)} contracts with {b.compiler.describe()} "
                      f"({'cache' if b.cached else 'fresh'}, {b.seconds:.2f}s)")
        console.print(f"chain: {s.chain.name} (chain id {s.chain.chain_id}), deployer {s.signer.address}")
        access = s.deployer.deploy("RWAAccess", s.signer.address)
        record = s.deployer.store.get("RWAAccess")
        console.print(f"deployed RWAAccess at {access.address} in block {record.block_number} "
                      f"(tx {record.transaction_hash})")


if __name__ == "__main__":
    main()
