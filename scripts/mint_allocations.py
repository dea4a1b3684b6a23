"""Mint from a CSV of allocations (asset,to,amount[,reference]) with batchMint. Each allocation's reference is
recorded on chain, so running the script again (in any order, after a crash) mints nothing and says so. Amounts are
smallest units or a quantity in the asset's unit ("2500 shares", "1.5 kg").

    .venv/bin/python scripts/mint_allocations.py scripts/examples/allocations.csv [--network anvil]
"""

from _common import parser, registrar, run

from rwaledger.models import MintRequest, load_csv
from rwaledger.render import describe


def main() -> None:
    p = parser(__doc__)
    p.add_argument("csv", help="allocations CSV")
    args = p.parse_args()
    allocations = load_csv(args.csv, MintRequest)
    reg = registrar(args)
    print(describe(reg.issuance.mint_many(allocations)))
    for symbol in sorted({a.asset for a in allocations}):
        info = reg.assets.asset(symbol)
        print(f"  {symbol}: {info.total_supply:,} of {info.max_supply:,} issued")


if __name__ == "__main__":
    run(main)
